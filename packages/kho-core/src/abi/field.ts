import { z } from "zod";
import { type Errno, KhoError } from "../errors.js";

/**
 * The building blocks of a C layout. Each field knows its size, its natural
 * alignment, how to read and write itself at an offset, and the two zod
 * schemas derived from it: `schema` for the decoded value (u64 as bigint,
 * bytes as Uint8Array) and `jsonSchema` for that value once passed through
 * `toJson` (u64 as a decimal string, bytes as lowercase hex), because JSON has
 * neither bigint nor byte arrays.
 */

export type Endian = "le" | "be";

/** A JSON value as `toJson` produces it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface FieldOptions {
  /** What the field means; shown in the docs, the C header and the JSON Schema. */
  readonly doc?: string;
}

/** Decode failures name the struct and field through `path` ("luo_ser.compatible"). */
export function abiError(code: Errno, message: string, path: string): KhoError {
  return new KhoError(code, message, path);
}

export abstract class Field<T> {
  abstract readonly kind: "int" | "char" | "bytes" | "array" | "struct";
  abstract readonly size: number;
  /** Natural alignment, used only when the enclosing struct is not packed. */
  abstract readonly align: number;
  /** Type as the docs show it: `u64`, `char[65]`, `u64[511]`, `struct kho_vmalloc_hdr`. */
  abstract readonly typeName: string;
  readonly doc: string | undefined;
  #schema: z.ZodType<T> | undefined;
  #jsonSchema: z.ZodType | undefined;

  protected constructor(opts: FieldOptions | undefined) {
    this.doc = opts?.doc;
  }

  /** Validates a value before encoding. */
  get schema(): z.ZodType<T> {
    this.#schema ??= this.described(this.buildSchema());
    return this.#schema;
  }

  /** Validates `toJson(value)`; `z.toJSONSchema` of it is the published JSON Schema. */
  get jsonSchema(): z.ZodType {
    this.#jsonSchema ??= this.described(this.buildJsonSchema());
    return this.#jsonSchema;
  }

  private described<S extends z.ZodType>(s: S): S {
    return this.doc === undefined ? s : s.meta({ description: this.doc });
  }

  protected abstract buildSchema(): z.ZodType<T>;
  protected abstract buildJsonSchema(): z.ZodType;
  abstract toJson(value: T): JsonValue;
  /** Reads the field at `off`; the caller has checked that `size` bytes are there. */
  abstract read(view: DataView, off: number, path: string): T;
  /** Writes a value that `schema` accepted. */
  abstract write(view: DataView, off: number, value: T, path: string): void;
}

/** The decoded value type of a field. */
export type Infer<F> = F extends Field<infer T> ? T : never;
export type AnyField = Field<unknown>;

// ---------------------------------------------------------------- integers

type IntBits = 8 | 16 | 32 | 64;
export interface IntOptions<T> extends FieldOptions {
  /** Byte order; CPU-native little-endian unless the format says otherwise. */
  readonly endian?: Endian;
  readonly min?: T;
  readonly max?: T;
  /** The only values the ABI allows (an enumeration). */
  readonly oneOf?: readonly T[];
}

export class IntField<T extends number | bigint> extends Field<T> {
  readonly kind = "int";
  readonly size: number;
  readonly align: number;
  readonly typeName: string;
  readonly endian: Endian;
  readonly min: T;
  readonly max: T;
  readonly oneOf: readonly T[] | undefined;

  constructor(
    readonly bits: IntBits,
    /** A u64 physical address where 0 means "none". */
    readonly phys: boolean,
    full: { min: T; max: T },
    opts: IntOptions<T> | undefined,
  ) {
    super(opts);
    this.size = bits / 8;
    this.align = this.size;
    this.endian = opts?.endian ?? "le";
    this.min = opts?.min ?? full.min;
    this.max = opts?.max ?? full.max;
    this.oneOf = opts?.oneOf;
    if (this.min < full.min || this.max > full.max || this.min > this.max) {
      throw new KhoError("EINVAL", `bad range [${this.min}, ${this.max}] for u${bits}`);
    }
    this.typeName = `u${bits}${phys ? " (phys)" : ""}${this.endian === "be" ? " (big-endian)" : ""}`;
  }

  protected buildSchema(): z.ZodType<T> {
    if (this.oneOf !== undefined) return z.literal(this.oneOf as readonly T[] & z.util.Literal[]);
    // The casts only restate T, which the factory chose together with `bits`.
    return (this.bits === 64
      ? z
          .bigint()
          .min(this.min as bigint)
          .max(this.max as bigint)
      : z
          .number()
          .int()
          .min(this.min as number)
          .max(this.max as number)) as unknown as z.ZodType<T>;
  }

  protected buildJsonSchema(): z.ZodType {
    if (this.bits < 64) return this.buildSchema();
    const base = z.string().regex(/^(0|[1-9][0-9]*)$/);
    return this.oneOf === undefined ? base : z.enum(this.oneOf.map(String));
  }

  toJson(value: T): JsonValue {
    return typeof value === "bigint" ? value.toString() : value;
  }

  read(view: DataView, off: number, path: string): T {
    const le = this.endian === "le";
    const v = (
      this.bits === 8
        ? view.getUint8(off)
        : this.bits === 16
          ? view.getUint16(off, le)
          : this.bits === 32
            ? view.getUint32(off, le)
            : view.getBigUint64(off, le)
    ) as T;
    if (v < this.min || v > this.max) {
      throw abiError("ERANGE", `value ${v} outside [${this.min}, ${this.max}]`, path);
    }
    if (this.oneOf !== undefined && !this.oneOf.includes(v)) {
      throw abiError("ERANGE", `value ${v} is not one of ${this.oneOf.join(", ")}`, path);
    }
    return v;
  }

  write(view: DataView, off: number, value: T): void {
    const le = this.endian === "le";
    if (this.bits === 8) view.setUint8(off, Number(value));
    else if (this.bits === 16) view.setUint16(off, Number(value), le);
    else if (this.bits === 32) view.setUint32(off, Number(value), le);
    else view.setBigUint64(off, BigInt(value), le);
  }
}

// ------------------------------------------------------------------- char[N]

const utf8 = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the bytes, not a marker to drop.
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export interface CharOptions extends FieldOptions {
  /**
   * `required` (default): the kernel relies on a terminating NUL, so a string
   * fills at most N-1 bytes and a decoded array without NUL is rejected.
   * `optional`: all N bytes may hold characters.
   */
  readonly nul?: "required" | "optional";
}

/**
 * How a char array's length was derived, kept so the C header can state the
 * rule instead of a bare number: `ALIGN(sizeof(text), align)`.
 */
export interface SizedFor {
  readonly text: string;
  readonly align: number;
}

/**
 * A NUL-padded string. Bytes after the first NUL must be zero on decode: the
 * encoder writes zeros there, and anything else could not be reproduced.
 * Text is UTF-8; invalid sequences are rejected for the same reason.
 */
export class CharField extends Field<string> {
  readonly kind = "char";
  readonly align = 1;
  readonly typeName: string;
  readonly nul: "required" | "optional";
  readonly maxBytes: number;

  constructor(
    readonly size: number,
    readonly sizedFor: SizedFor | undefined,
    opts: CharOptions | undefined,
  ) {
    super(opts);
    if (!Number.isInteger(size) || size < 1) throw new KhoError("EINVAL", `bad char array length ${size}`);
    this.nul = opts?.nul ?? "required";
    this.maxBytes = this.nul === "required" ? size - 1 : size;
    this.typeName = `char[${size}]`;
  }

  protected buildSchema(): z.ZodType<string> {
    return z
      .string()
      .refine((s) => !s.includes("\0"), "contains a NUL character")
      .refine((s) => utf8.encode(s).length <= this.maxBytes, `longer than ${this.maxBytes} bytes`);
  }

  protected buildJsonSchema(): z.ZodType {
    return this.buildSchema();
  }

  toJson(value: string): JsonValue {
    return value;
  }

  read(view: DataView, off: number, path: string): string {
    const raw = new Uint8Array(view.buffer, view.byteOffset + off, this.size);
    let end = raw.indexOf(0);
    if (end < 0) {
      if (this.nul === "required") throw abiError("EINVAL", `no NUL terminator in ${this.typeName}`, path);
      end = this.size;
    }
    if (raw.subarray(end).some((b) => b !== 0)) {
      throw abiError("EINVAL", "non-zero bytes after the NUL terminator", path);
    }
    try {
      return utf8Strict.decode(raw.subarray(0, end));
    } catch {
      throw abiError("EINVAL", "string is not valid UTF-8", path);
    }
  }

  write(view: DataView, off: number, value: string): void {
    new Uint8Array(view.buffer, view.byteOffset + off, this.size).set(utf8.encode(value));
  }
}

// ------------------------------------------------------------------ bytes[N]

export class BytesField extends Field<Uint8Array> {
  readonly kind = "bytes";
  readonly align = 1;
  readonly typeName: string;

  constructor(
    readonly size: number,
    opts: FieldOptions | undefined,
  ) {
    super(opts);
    this.typeName = `u8[${size}]`;
  }

  protected buildSchema(): z.ZodType<Uint8Array> {
    return z.instanceof(Uint8Array).refine((b) => b.length === this.size, `must be ${this.size} bytes`);
  }

  protected buildJsonSchema(): z.ZodType {
    return z.string().regex(new RegExp(`^([0-9a-f]{2}){${this.size}}$`));
  }

  toJson(value: Uint8Array): JsonValue {
    return Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  read(view: DataView, off: number): Uint8Array {
    return new Uint8Array(view.buffer.slice(view.byteOffset + off, view.byteOffset + off + this.size));
  }

  write(view: DataView, off: number, value: Uint8Array): void {
    new Uint8Array(view.buffer, view.byteOffset + off, this.size).set(value);
  }
}

// ---------------------------------------------------------------- T[count]

export class ArrayField<T> extends Field<T[]> {
  readonly kind = "array";
  readonly size: number;
  readonly align: number;
  readonly typeName: string;

  constructor(
    readonly element: Field<T>,
    readonly count: number,
    opts: FieldOptions | undefined,
  ) {
    super(opts);
    if (!Number.isInteger(count) || count < 1) throw new KhoError("EINVAL", `bad array count ${count}`);
    this.size = element.size * count;
    this.align = element.align;
    this.typeName = `${element.typeName}[${count}]`;
  }

  protected buildSchema(): z.ZodType<T[]> {
    return z.array(this.element.schema).length(this.count);
  }

  protected buildJsonSchema(): z.ZodType {
    return z.array(this.element.jsonSchema).length(this.count);
  }

  toJson(value: T[]): JsonValue {
    return value.map((v) => this.element.toJson(v));
  }

  read(view: DataView, off: number, path: string): T[] {
    return Array.from({ length: this.count }, (_, i) =>
      this.element.read(view, off + i * this.element.size, `${path}[${i}]`),
    );
  }

  write(view: DataView, off: number, value: T[], path: string): void {
    for (const [i, v] of value.entries()) this.element.write(view, off + i * this.element.size, v, `${path}[${i}]`);
  }
}
