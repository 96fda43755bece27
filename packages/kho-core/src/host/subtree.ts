import type { JsonValue } from "../abi/field.js";
import type { AbiLayout, AbiSchema } from "../abi/schema.js";
import { isKhoError, KhoError } from "../errors.js";
import { checkFull } from "../fdt/check.js";
import { findProp } from "../fdt/ro.js";
import { hex } from "../units.js";
import type { SubtreeDescription, SubtreeVersion } from "./plugin.js";

/** What a layout decodes to, when it decodes bytes on its own (structs and FDT nodes; not page-size families). */
export type LayoutValue<L> = L extends { decode(blob: Uint8Array): infer T } ? T : never;

interface Codec<T> {
  decode(blob: Uint8Array): T;
  encode(value: T): Uint8Array;
}

/**
 * The parts of a subtree version a plugin writes itself. `decode`/`encode`
 * default to the layout's own codec (a struct or an FDT node); a
 * page-size family of structs, or a blob read with the kernel's leniency
 * (strscpy of a char array), gives its own. `identify` defaults to the
 * root `compatible` of an FDT subtree; a struct blob must say how it
 * carries its version.
 */
export interface SubtreeVersionInput<L extends AbiLayout, T> {
  readonly abi: AbiSchema<L>;
  readonly identify?: (blob: Uint8Array) => string | null;
  readonly decode?: (blob: Uint8Array) => T;
  readonly encode?: (value: T) => Uint8Array;
  /** What inspection shows; by default the decoded value as JSON, or the decode error as a problem. */
  readonly describe?: (blob: Uint8Array, version: SubtreeVersion<T>) => SubtreeDescription;
}

/** What an FDT subtree declares as its compatible: the root node's first string. */
export function fdtCompatible(blob: Uint8Array): string | null {
  try {
    checkFull(blob, blob.length);
    const p = findProp(blob, 0, "compatible");
    if (!p || p.value.length === 0) return null;
    const end = p.value.indexOf(0);
    return new TextDecoder().decode(p.value.subarray(0, end < 0 ? p.value.length : end));
  } catch (e) {
    if (isKhoError(e)) return null;
    throw e;
  }
}

/** Any decoded value as JSON: u64 as hex strings, byte arrays as hex. */
export function jsonOf(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return hex(value);
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (value instanceof Uint8Array) return Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("");
  if (Array.isArray(value)) return value.map(jsonOf);
  if (typeof value === "object")
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, jsonOf(v)]));
  return String(value);
}

/** The default `describe`: decode, or report why the blob does not decode. */
function describeByDecode<T>(blob: Uint8Array, v: SubtreeVersion<T>): SubtreeDescription {
  try {
    return { fields: jsonOf(v.decode(blob)) };
  } catch (e) {
    if (!isKhoError(e)) throw e;
    return { fields: null, problems: [`not a valid ${v.abi.compatible[0] ?? v.abi.name} blob: ${e.message}`] };
  }
}

function layoutCodec<L extends AbiLayout, T>(abi: AbiSchema<L>): Codec<T> | null {
  const l = abi.layout as Partial<Codec<T>>;
  if (typeof l.decode !== "function" || typeof l.encode !== "function") return null;
  return { decode: (b) => l.decode!.call(abi.layout, b), encode: (v) => l.encode!.call(abi.layout, v) };
}

/**
 * One version of a subtree, typed by what its layout decodes to. Throws
 * EINVAL when a part cannot be derived: a struct without `identify`, a
 * layout without a codec of its own and no `decode`/`encode`.
 */
export function defineSubtree<L extends AbiLayout, T = LayoutValue<L>>(
  input: SubtreeVersionInput<L, T>,
): SubtreeVersion<T> {
  const { abi } = input;
  const where = `${abi.name} ${abi.version}`;
  if (abi.compatible.length === 0) throw new KhoError("EINVAL", "a subtree version needs a compatible string", where);
  const identify = input.identify ?? (abi.format === "fdt" ? fdtCompatible : null);
  if (!identify)
    throw new KhoError("EINVAL", "a struct subtree needs identify: its blob does not say its version by itself", where);
  const derived = input.decode && input.encode ? null : layoutCodec<L, T>(abi);
  const decode = input.decode ?? derived?.decode;
  const encode = input.encode ?? derived?.encode;
  if (!decode || !encode)
    throw new KhoError("EINVAL", "the layout has no codec of its own: give decode and encode", where);
  const describe = input.describe ?? describeByDecode;
  const version: SubtreeVersion<T> = Object.freeze({
    abi,
    identify,
    decode,
    encode,
    describe: (blob: Uint8Array) => describe(blob, version),
  });
  return version;
}
