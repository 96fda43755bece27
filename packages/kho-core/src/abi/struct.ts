import { z } from "zod";
import { KhoError } from "../errors.js";
import { type AnyField, abiError, Field, type FieldOptions, type Infer, type JsonValue } from "./field.js";

/**
 * The slice of simulated physical memory a layout needs. The simulator's
 * memory satisfies it structurally; tests can pass a plain buffer.
 */
export interface PhysAccess {
  read(pa: number, len: number): Uint8Array;
  write(pa: number, bytes: Uint8Array): void;
}

export type StructFields = Record<string, AnyField>;
export type StructValue<S extends StructFields> = { [K in keyof S]: Infer<S[K]> };

export interface StructOptions extends FieldOptions {
  /**
   * `true` for `__packed` structs (no padding, alignment 1); `false` lays the
   * fields out with C's natural alignment, as gcc does for x86-64 and arm64.
   */
  readonly packed: boolean;
}

/** One member of a struct with its computed place. */
export interface PlacedField {
  readonly name: string;
  readonly field: AnyField;
  readonly offset: number;
}

/** Byte ranges the compiler inserts for natural alignment. */
interface Padding {
  readonly offset: number;
  readonly size: number;
}

function alignTo(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/**
 * A C struct declared once; every offset and the total size are computed
 * from the field list. It is itself a field, so structs nest.
 */
export class StructLayout<S extends StructFields> extends Field<StructValue<S>> {
  readonly kind = "struct";
  readonly size: number;
  readonly align: number;
  readonly typeName: string;
  readonly packed: boolean;
  readonly members: readonly PlacedField[];
  readonly #padding: readonly Padding[];

  constructor(
    readonly name: string,
    readonly fields: S,
    opts: StructOptions,
  ) {
    super(opts);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new KhoError("EINVAL", `bad struct name "${name}"`);
    this.packed = opts.packed;
    this.typeName = `struct ${name}`;
    const members: PlacedField[] = [];
    const padding: Padding[] = [];
    let at = 0;
    let align = 1;
    for (const [fname, field] of Object.entries(fields)) {
      const offset = this.packed ? at : alignTo(at, field.align);
      if (offset > at) padding.push({ offset: at, size: offset - at });
      members.push({ name: fname, field, offset });
      at = offset + field.size;
      align = Math.max(align, field.align);
    }
    this.align = this.packed ? 1 : align;
    this.size = alignTo(at, this.align);
    if (this.size > at) padding.push({ offset: at, size: this.size - at });
    if (members.length === 0) throw new KhoError("EINVAL", `struct ${name} has no fields`);
    this.members = members;
    this.#padding = padding;
  }

  offsetOf(field: keyof S & string): number {
    const m = this.members.find((p) => p.name === field);
    if (m === undefined) throw new KhoError("ENOENT", `no field ${field}`, this.name);
    return m.offset;
  }

  protected buildSchema(): z.ZodType<StructValue<S>> {
    const shape = Object.fromEntries(this.members.map((m) => [m.name, m.field.schema]));
    return z.strictObject(shape) as unknown as z.ZodType<StructValue<S>>;
  }

  protected buildJsonSchema(): z.ZodType {
    return z.strictObject(Object.fromEntries(this.members.map((m) => [m.name, m.field.jsonSchema])));
  }

  toJson(value: StructValue<S>): JsonValue {
    return Object.fromEntries(this.members.map((m) => [m.name, m.field.toJson(value[m.name])]));
  }

  read(view: DataView, off: number, path: string): StructValue<S> {
    for (const p of this.#padding) {
      for (let i = 0; i < p.size; i++) {
        if (view.getUint8(off + p.offset + i) !== 0) {
          throw abiError("EINVAL", `non-zero padding byte at offset ${p.offset + i}`, path);
        }
      }
    }
    const out: Record<string, unknown> = {};
    for (const m of this.members) out[m.name] = m.field.read(view, off + m.offset, `${path}.${m.name}`);
    return out as StructValue<S>;
  }

  write(view: DataView, off: number, value: StructValue<S>, path: string): void {
    for (const m of this.members) m.field.write(view, off + m.offset, value[m.name], `${path}.${m.name}`);
  }

  /** Checks a value against the schema; the error names the offending field. */
  validate(value: StructValue<S>, root: string = this.name): StructValue<S> {
    const r = this.schema.safeParse(value);
    if (r.success) return r.data;
    const issue = r.error.issues[0]!;
    const where = issue.path.reduce<string>(
      (acc, k) => (typeof k === "number" ? `${acc}[${k}]` : `${acc}.${String(k)}`),
      root,
    );
    const code =
      issue.code === "too_big" || issue.code === "too_small" || issue.code === "invalid_value" ? "ERANGE" : "EINVAL";
    throw abiError(code, issue.message, where);
  }

  encode(value: StructValue<S>): Uint8Array {
    return this.encodeAs(value, this.name);
  }

  /** Decodes the first `size` bytes; a longer buffer (a blob in its page) is fine. */
  decode(bytes: Uint8Array): StructValue<S> {
    return this.decodeAs(bytes, this.name);
  }

  readAt(mem: PhysAccess, pa: number): StructValue<S> {
    return this.decodeAs(mem.read(pa, this.size), this.siteAt(pa));
  }

  writeAt(mem: PhysAccess, pa: number, value: StructValue<S>): void {
    mem.write(pa, this.encodeAs(value, this.siteAt(pa)));
  }

  private siteAt(pa: number): string {
    return `${this.name}@0x${pa.toString(16)}`;
  }

  private encodeAs(value: StructValue<S>, root: string): Uint8Array {
    const v = this.validate(value, root);
    const out = new Uint8Array(this.size);
    this.write(new DataView(out.buffer), 0, v, root);
    return out;
  }

  private decodeAs(bytes: Uint8Array, root: string): StructValue<S> {
    if (bytes.length < this.size) {
      throw abiError("EINVAL", `${bytes.length} bytes, struct ${this.name} needs ${this.size}`, root);
    }
    return this.read(new DataView(bytes.buffer, bytes.byteOffset, this.size), 0, root);
  }
}

export type AnyStruct = StructLayout<StructFields>;

export function defineStruct<S extends StructFields>(name: string, fields: S, opts: StructOptions): StructLayout<S> {
  return new StructLayout(name, fields, opts);
}
