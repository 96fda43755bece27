import { z } from "zod";
import { KhoError } from "../errors.js";
import { parseFdt } from "../fdt/parse.js";
import { FdtSw } from "../fdt/sw.js";
import { abiError, type JsonValue } from "./field.js";
import type { PhysAccess } from "./struct.js";

/**
 * FDT node layouts: which properties a node carries, with what encoding, and
 * what its child nodes look like. Values are checked against the layout in
 * both directions with the same KhoError codes as struct layouts (EINVAL for
 * a missing or malformed property, EPROTO for an unexpected compatible
 * string, E2BIG for too many children), naming the node path and property.
 */

/** A parsed node as the FDT codec returns it. */
export interface FdtTreeNode {
  readonly name: string;
  readonly props: readonly { readonly name: string; readonly value: Uint8Array }[];
  readonly children: readonly FdtTreeNode[];
}

export interface PropOptions {
  readonly doc?: string;
  readonly optional?: boolean;
}
type Required<O> = O extends { optional: true } ? false : true;

const utf8 = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the bytes, not a marker to drop.
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function decodeUtf8(b: Uint8Array, path: string): string {
  try {
    return utf8Strict.decode(b);
  } catch {
    throw abiError("EINVAL", "string is not valid UTF-8", path);
  }
}

/**
 * One property type. `R` records at the type level whether the property
 * must be present, so decoded values get optional keys exactly where the
 * layout allows absence.
 */
export abstract class Prop<T, R extends boolean = boolean> {
  abstract readonly kind: "string" | "strings" | "cells" | "u64" | "bytes";
  /** How the payload looks in DTS notation, for docs. */
  abstract readonly dts: string;
  /** Payload size in bytes, or a description when it varies. */
  abstract readonly sizeText: string;
  readonly doc: string | undefined;
  readonly required: R;

  constructor(opts: PropOptions | undefined) {
    this.doc = opts?.doc;
    this.required = (opts?.optional !== true) as R;
  }

  abstract schema(): z.ZodType<T>;
  abstract jsonSchema(): z.ZodType;
  abstract toJson(value: T): JsonValue;
  abstract encode(value: T): Uint8Array;
  abstract decode(bytes: Uint8Array, path: string): T;
}

export interface StringPropOptions<S extends string> extends PropOptions {
  /** The accepted values (compatible strings); anything else is EPROTO. */
  readonly oneOf?: readonly S[];
}

/** A single NUL-terminated string. */
export class StringProp<S extends string, R extends boolean> extends Prop<S, R> {
  readonly kind = "string";
  readonly dts = '"<string>"';
  readonly sizeText = "strlen + 1";
  readonly oneOf: readonly S[] | undefined;

  constructor(opts: StringPropOptions<S> | undefined) {
    super(opts);
    this.oneOf = opts?.oneOf;
  }

  schema(): z.ZodType<S> {
    if (this.oneOf !== undefined) return z.enum(this.oneOf as readonly [S, ...S[]]) as unknown as z.ZodType<S>;
    return z.string().refine((s) => !s.includes("\0"), "contains a NUL character") as unknown as z.ZodType<S>;
  }

  jsonSchema(): z.ZodType {
    return this.schema();
  }

  toJson(value: S): JsonValue {
    return value;
  }

  encode(value: S): Uint8Array {
    return utf8.encode(`${value}\0`);
  }

  decode(bytes: Uint8Array, path: string): S {
    if (bytes.length === 0 || bytes[bytes.length - 1] !== 0 || bytes.indexOf(0) !== bytes.length - 1) {
      throw abiError("EINVAL", "not a single NUL-terminated string", path);
    }
    const s = decodeUtf8(bytes.subarray(0, -1), path);
    if (this.oneOf !== undefined && !(this.oneOf as readonly string[]).includes(s)) {
      throw abiError("EPROTO", `"${s}" is not ${this.oneOf.map((c) => `"${c}"`).join(" or ")}`, path);
    }
    return s as S;
  }
}

/** A string list: each entry NUL-terminated, back to back. */
export class StringListProp<R extends boolean> extends Prop<string[], R> {
  readonly kind = "strings";
  readonly dts = '"<a>", "<b>"';
  readonly sizeText = "sum of strlen + 1";

  schema(): z.ZodType<string[]> {
    return z.array(z.string().refine((s) => !s.includes("\0"), "contains a NUL character")).min(1);
  }

  jsonSchema(): z.ZodType {
    return this.schema();
  }

  toJson(value: string[]): JsonValue {
    return value;
  }

  encode(value: string[]): Uint8Array {
    return utf8.encode(value.map((s) => `${s}\0`).join(""));
  }

  decode(bytes: Uint8Array, path: string): string[] {
    if (bytes.length === 0 || bytes[bytes.length - 1] !== 0) {
      throw abiError("EINVAL", "string list does not end with NUL", path);
    }
    return decodeUtf8(bytes.subarray(0, -1), path).split("\0");
  }
}

/** Big-endian 32-bit cells, as `<0x1 0x2>` in DTS. */
export class CellsProp<R extends boolean> extends Prop<number[], R> {
  readonly kind = "cells";
  readonly dts: string;
  readonly sizeText: string;

  constructor(
    readonly count: number | undefined,
    opts: PropOptions | undefined,
  ) {
    super(opts);
    this.dts = count === undefined ? "<u32 ...>" : `<${Array.from({ length: count }, () => "u32").join(" ")}>`;
    this.sizeText = count === undefined ? "4 × n" : String(4 * count);
  }

  schema(): z.ZodType<number[]> {
    const cells = z.array(z.number().int().min(0).max(0xffffffff));
    return this.count === undefined ? cells : cells.length(this.count);
  }

  jsonSchema(): z.ZodType {
    return this.schema();
  }

  toJson(value: number[]): JsonValue {
    return value;
  }

  encode(value: number[]): Uint8Array {
    const out = new Uint8Array(4 * value.length);
    const v = new DataView(out.buffer);
    for (const [i, c] of value.entries()) v.setUint32(4 * i, c, false);
    return out;
  }

  decode(bytes: Uint8Array, path: string): number[] {
    if (bytes.length % 4 !== 0 || (this.count !== undefined && bytes.length !== 4 * this.count)) {
      throw abiError("EINVAL", `length ${bytes.length} is not ${this.sizeText} bytes of cells`, path);
    }
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    return Array.from({ length: bytes.length / 4 }, (_, i) => v.getUint32(4 * i, false));
  }
}

/**
 * A raw 8-byte value in CPU byte order (little-endian), the way KHO stores
 * addresses and sizes with a plain `fdt_setprop` of a u64, unlike DT cells.
 */
export class U64Prop<R extends boolean> extends Prop<bigint, R> {
  readonly kind = "u64";
  readonly dts = "<u64, CPU byte order (LE)>";
  readonly sizeText = "8";

  schema(): z.ZodType<bigint> {
    return z
      .bigint()
      .min(0n)
      .max((1n << 64n) - 1n);
  }

  jsonSchema(): z.ZodType {
    return z.string().regex(/^(0|[1-9][0-9]*)$/);
  }

  toJson(value: bigint): JsonValue {
    return value.toString();
  }

  encode(value: bigint): Uint8Array {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, value, true);
    return out;
  }

  decode(bytes: Uint8Array, path: string): bigint {
    if (bytes.length !== 8) throw abiError("EINVAL", `length ${bytes.length}, expected exactly 8`, path);
    return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  }
}

/** Opaque bytes, optionally of a fixed length. */
export class BytesProp<R extends boolean> extends Prop<Uint8Array, R> {
  readonly kind = "bytes";
  readonly dts = "[bytes]";
  readonly sizeText: string;

  constructor(
    readonly length: number | undefined,
    opts: PropOptions | undefined,
  ) {
    super(opts);
    this.sizeText = length === undefined ? "any" : String(length);
  }

  schema(): z.ZodType<Uint8Array> {
    return z
      .instanceof(Uint8Array)
      .refine((b) => this.length === undefined || b.length === this.length, `must be ${this.sizeText} bytes`);
  }

  jsonSchema(): z.ZodType {
    return z
      .string()
      .regex(this.length === undefined ? /^([0-9a-f]{2})*$/ : new RegExp(`^([0-9a-f]{2}){${this.length}}$`));
  }

  toJson(value: Uint8Array): JsonValue {
    return Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  encode(value: Uint8Array): Uint8Array {
    return value.slice();
  }

  decode(bytes: Uint8Array, path: string): Uint8Array {
    if (this.length !== undefined && bytes.length !== this.length) {
      throw abiError("EINVAL", `length ${bytes.length}, expected exactly ${this.length}`, path);
    }
    return bytes.slice();
  }
}

/** No options given: the default of every options type parameter. */
type NoOptions = Record<never, never>;

/** Property constructors, used as `prop.u64()`, `prop.string({ optional: true })`. */
export const prop = {
  string: <const S extends string = string, O extends StringPropOptions<S> = NoOptions>(
    opts?: O & StringPropOptions<S>,
  ) => new StringProp<S, Required<O>>(opts),
  strings: <O extends PropOptions = NoOptions>(opts?: O) => new StringListProp<Required<O>>(opts),
  cells: <O extends PropOptions = NoOptions>(count?: number, opts?: O) => new CellsProp<Required<O>>(count, opts),
  u64: <O extends PropOptions = NoOptions>(opts?: O) => new U64Prop<Required<O>>(opts),
  bytes: <O extends PropOptions = NoOptions>(length?: number, opts?: O) => new BytesProp<Required<O>>(length, opts),
};

// -------------------------------------------------------------------- nodes

export type AnyProp = Prop<unknown, boolean>;
export type FdtProps = Record<string, AnyProp>;
type PropValue<P> = P extends Prop<infer T, boolean> ? T : never;
type RequiredKeys<P extends FdtProps> = { [K in keyof P]: P[K] extends Prop<unknown, true> ? K : never }[keyof P];
type Flatten<T> = { [K in keyof T]: T[K] };
export type FdtPropsValue<P extends FdtProps> = Flatten<
  { [K in RequiredKeys<P>]: PropValue<P[K]> } & { [K in Exclude<keyof P, RequiredKeys<P>>]?: PropValue<P[K]> }
>;

export interface FdtNodeValue<P extends FdtProps, C> {
  name: string;
  props: FdtPropsValue<P>;
  children: C[];
}

/** Props of a layout, with the compatible property the options put first. */
type WithCompat<Compat extends string, P extends FdtProps> = [Compat] extends [never]
  ? P
  : Flatten<{ compatible: StringProp<Compat, true> } & P>;

/** Upper bound on children so a hostile blob cannot make a reader loop long. */
export const FDT_LAYOUT_MAX_CHILDREN = 4096;

export interface FdtNodeOptions<Compat extends string, P extends FdtProps, C> {
  readonly doc?: string;
  /** Accepted `compatible` strings, newest first; encoders write the one in the value. */
  readonly compatible?: readonly Compat[];
  /** Properties in the order they appear in the node. */
  readonly props: P;
  /** Every child node follows this layout; names are free (KHO subtree names). */
  readonly children?: C;
  /** What a child's name means, for docs: `<subtree name>`. */
  readonly childName?: string;
  readonly maxChildren?: number;
}

/** What generators and the untyped walkers need to know about any node layout. */
export interface AnyFdtNode {
  readonly name: string;
  readonly doc: string | undefined;
  readonly childName: string;
  readonly maxChildren: number;
  readonly compatible: readonly string[];
  readonly propList: readonly [string, AnyProp][];
  childLayout(): AnyFdtNode | undefined;
  schemaWith(of: (p: AnyProp) => z.ZodType): z.ZodType;
}
export type FdtValue<L> = L extends FdtNodeLayout<infer P, infer C> ? FdtNodeValue<P, FdtValue<C>> : never;
type FdtChildValue<C> = FdtValue<C>;

export class FdtNodeLayout<P extends FdtProps, C> implements AnyFdtNode {
  readonly doc: string | undefined;
  readonly childName: string;
  readonly maxChildren: number;
  #schema: z.ZodType | undefined;

  constructor(
    /** Name shown in docs: `/` for a root, `<name>` for a free-named child. */
    readonly name: string,
    readonly props: P,
    readonly children: C | undefined,
    opts: { doc?: string; childName?: string; maxChildren?: number },
  ) {
    this.doc = opts.doc;
    this.childName = opts.childName ?? "<name>";
    this.maxChildren = opts.maxChildren ?? FDT_LAYOUT_MAX_CHILDREN;
  }

  get compatible(): readonly string[] {
    const c = this.props.compatible;
    return c instanceof StringProp && c.oneOf !== undefined ? c.oneOf : [];
  }

  get propList(): readonly [string, AnyProp][] {
    return Object.entries(this.props);
  }

  childLayout(): AnyFdtNode | undefined {
    return this.children as AnyFdtNode | undefined;
  }

  get schema(): z.ZodType<FdtNodeValue<P, FdtChildValue<C>>> {
    this.#schema ??= this.schemaWith((p) => p.schema());
    return this.#schema as z.ZodType<FdtNodeValue<P, FdtChildValue<C>>>;
  }

  /** Validates `toJson(value)`. */
  get jsonSchema(): z.ZodType {
    return this.schemaWith((p) => p.jsonSchema());
  }

  schemaWith(of: (p: AnyProp) => z.ZodType): z.ZodType {
    const props = z.strictObject(
      Object.fromEntries(this.propList.map(([k, p]) => [k, withDoc(p.required ? of(p) : of(p).optional(), p.doc)])),
    );
    const child = this.childLayout();
    const children =
      child === undefined ? z.array(z.never()).max(0) : z.array(child.schemaWith(of)).max(this.maxChildren);
    const node = z.strictObject({
      name: z.string().refine((n) => !n.includes("\0") && !n.includes("/")),
      props,
      children,
    });
    return withDoc(node, this.doc);
  }

  toJson(value: FdtNodeValue<P, FdtChildValue<C>>): JsonValue {
    return toJsonNode(this, value);
  }

  /** Checks a value; the error names the node path and property. */
  validate(value: FdtNodeValue<P, FdtChildValue<C>>): FdtNodeValue<P, FdtChildValue<C>> {
    const r = this.schema.safeParse(value);
    if (r.success) return r.data;
    const issue = r.error.issues[0]!;
    const bound = issue.code === "too_big" || issue.code === "too_small";
    throw abiError(
      bound && issue.path[issue.path.length - 1] === "children" ? "E2BIG" : bound ? "ERANGE" : "EINVAL",
      issue.message,
      issuePath(value as FdtNodeValue<FdtProps, unknown>, issue.path),
    );
  }

  /** Decodes a parsed node (and its subtree) into a typed value. */
  fromTree(node: FdtTreeNode, path = "/"): FdtNodeValue<P, FdtChildValue<C>> {
    return fromTreeNode(this, node, path) as FdtNodeValue<P, FdtChildValue<C>>;
  }

  /**
   * A DTB holding this node as its root, written with the sequential-write
   * codec: properties in layout order, children in value order.
   */
  encode(value: FdtNodeValue<P, FdtChildValue<C>>): Uint8Array {
    const tree = this.toTree(this.validate(value));
    const sw = FdtSw.create(swBound(tree));
    sw.finishReservemap();
    const emit = (n: FdtTreeNode): void => {
      sw.beginNode(n.name);
      for (const p of n.props) sw.property(p.name, p.value);
      n.children.forEach(emit);
      sw.endNode();
    };
    emit(tree);
    return sw.finish().slice();
  }

  /** Parses a DTB (FdtError when it is not one) and decodes its root with this layout. */
  decode(blob: Uint8Array): FdtNodeValue<P, FdtChildValue<C>> {
    return this.fromTree(parseFdt(blob).root);
  }

  readAt(mem: PhysAccess, pa: number, size: number): FdtNodeValue<P, FdtChildValue<C>> {
    return this.decode(mem.read(pa, size));
  }

  /** The properties and children to write, in order; the value must be valid. */
  toTree(value: FdtNodeValue<P, FdtChildValue<C>>): FdtTreeNode {
    return toTreeNode(this, value as FdtNodeValue<FdtProps, unknown>);
  }
}

/**
 * Room a sequential write needs at most: header and reserve map, every
 * token, name and padded value, and every property name as if none were
 * shared in the strings block.
 */
function swBound(n: FdtTreeNode): number {
  const node = (t: FdtTreeNode): number =>
    8 +
    Math.ceil((utf8.encode(t.name).length + 1) / 4) * 4 +
    t.props.reduce((a, p) => a + 12 + Math.ceil(p.value.length / 4) * 4 + utf8.encode(p.name).length + 1, 0) +
    t.children.reduce((a, c) => a + node(c), 0);
  return 64 + node(n) + 4;
}

function withDoc<S extends z.ZodType>(s: S, doc: string | undefined): S {
  return doc === undefined ? s : s.meta({ description: doc });
}

function childPath(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

/** Turns a zod issue path (props.x / children.3.props.y) into `/node:prop`. */
function issuePath(root: FdtNodeValue<FdtProps, unknown>, path: readonly PropertyKey[]): string {
  let node: FdtNodeValue<FdtProps, unknown> | undefined = root;
  let at = "/";
  for (let i = 0; i < path.length; i++) {
    const k = path[i];
    if (k === "children" && typeof path[i + 1] === "number" && node !== undefined) {
      node = node.children[path[i + 1] as number] as FdtNodeValue<FdtProps, unknown> | undefined;
      at = childPath(at, node?.name ?? `#${String(path[i + 1])}`);
      i++;
    } else if (k === "props" && path[i + 1] !== undefined) {
      return `${at}:${String(path[i + 1])}`;
    } else if (k !== undefined) {
      return `${at}:${String(k)}`;
    }
  }
  return at;
}

function fromTreeNode(layout: AnyFdtNode, node: FdtTreeNode, path: string): FdtNodeValue<FdtProps, unknown> {
  const seen = new Map<string, Uint8Array>();
  for (const p of node.props) {
    if (seen.has(p.name)) throw abiError("EINVAL", "duplicate property", `${path}:${p.name}`);
    seen.set(p.name, p.value);
  }
  const props: Record<string, unknown> = {};
  // Properties the layout does not name are ignored, as kernel readers do.
  for (const [name, p] of layout.propList) {
    const raw = seen.get(name);
    if (raw === undefined) {
      if (p.required) throw abiError("EINVAL", "missing required property", `${path}:${name}`);
      continue;
    }
    props[name] = p.decode(raw, `${path}:${name}`);
  }
  const child = layout.childLayout();
  if (child === undefined && node.children.length > 0) {
    throw abiError("EINVAL", `unexpected child node "${node.children[0]!.name}"`, path);
  }
  if (node.children.length > layout.maxChildren) {
    throw abiError("E2BIG", `${node.children.length} child nodes, at most ${layout.maxChildren}`, path);
  }
  const children = child === undefined ? [] : node.children.map((c) => fromTreeNode(child, c, childPath(path, c.name)));
  return { name: node.name, props, children };
}

function toTreeNode(layout: AnyFdtNode, value: FdtNodeValue<FdtProps, unknown>): FdtTreeNode {
  const props = value.props as Record<string, unknown>;
  const child = layout.childLayout();
  return {
    name: value.name,
    props: layout.propList.flatMap(([name, p]) =>
      props[name] === undefined ? [] : [{ name, value: p.encode(props[name]) }],
    ),
    children:
      child === undefined ? [] : value.children.map((c) => toTreeNode(child, c as FdtNodeValue<FdtProps, unknown>)),
  };
}

function toJsonNode(layout: AnyFdtNode, value: FdtNodeValue<FdtProps, unknown>): JsonValue {
  const props = value.props as Record<string, unknown>;
  const child = layout.childLayout();
  return {
    name: value.name,
    props: Object.fromEntries(
      layout.propList.flatMap(([name, p]) => (props[name] === undefined ? [] : [[name, p.toJson(props[name])]])),
    ),
    children:
      child === undefined ? [] : value.children.map((c) => toJsonNode(child, c as FdtNodeValue<FdtProps, unknown>)),
  };
}

/**
 * Declares an FDT node layout. With `compatible`, a `compatible` string
 * property restricted to those values comes first, as nodes conventionally
 * start with it.
 */
export function defineFdtNode<const Compat extends string = never, P extends FdtProps = NoOptions, C = undefined>(
  name: string,
  opts: FdtNodeOptions<Compat, P, C>,
): FdtNodeLayout<WithCompat<Compat, P>, C> {
  const props =
    opts.compatible === undefined
      ? opts.props
      : { compatible: new StringProp({ oneOf: opts.compatible, doc: "ABI version of this node" }), ...opts.props };
  if (opts.compatible !== undefined && opts.compatible.length === 0) {
    throw new KhoError("EINVAL", "empty compatible list", name);
  }
  return new FdtNodeLayout(name, props as WithCompat<Compat, P>, opts.children, opts);
}
