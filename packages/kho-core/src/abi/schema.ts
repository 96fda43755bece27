import { KhoError } from "../errors.js";
import { type AnyFdtNode, FdtNodeLayout } from "./fdt-layout.js";
import type { AnyStruct } from "./struct.js";
import type { PageSized } from "./vocabulary.js";

/** One step in an ABI's history, oldest first. */
export interface VersionNote {
  readonly version: string;
  readonly change: string;
}

/** Any layout a schema can document: a struct, an FDT node, or a page-size family of structs. */
export type AbiLayout = AnyStruct | AnyFdtNode | PageSized<AnyStruct>;

/**
 * One versioned piece of the handover ABI, as a plain value. Plugins export
 * one per KHO subtree from their own `abi/` module; the core declares the
 * root FDT and the structs KHO itself hands over the same way.
 */
export interface AbiSchema<L extends AbiLayout = AbiLayout> {
  /** The KHO subtree node name ("LUO", "kexec-metadata"), or the core ABI's id. */
  readonly name: string;
  /** `subtree`: a child of the root KHO FDT; `core`: defined by KHO itself. */
  readonly kind: "subtree" | "core";
  readonly format: "struct" | "fdt";
  readonly title: string;
  readonly summary: string;
  /** Compatible strings accepted, current first; empty when the version is a number in the blob. */
  readonly compatible: readonly string[];
  readonly version: string;
  readonly history: readonly VersionNote[];
  /** The blob (or root node) layout. */
  readonly layout: L;
  /** Layouts reached through physical pointers or used as entries of the main one. */
  readonly related: readonly (AnyStruct | PageSized<AnyStruct>)[];
  /** Macros for the C header: compatible strings, property names, numeric constants. */
  readonly defines: Readonly<Record<string, string | number>>;
}

export interface AbiSchemaInput<L extends AbiLayout> {
  readonly name: string;
  readonly kind?: "subtree" | "core";
  readonly title: string;
  readonly summary: string;
  readonly compatible?: readonly string[];
  readonly version: string;
  readonly history?: readonly VersionNote[];
  readonly layout: L;
  readonly related?: readonly (AnyStruct | PageSized<AnyStruct>)[];
  readonly defines?: Readonly<Record<string, string | number>>;
}

export function defineAbi<L extends AbiLayout>(input: AbiSchemaInput<L>): AbiSchema<L> {
  if (input.name === "" || input.name.includes("/") || input.name.includes("\0")) {
    throw new KhoError("EINVAL", `bad ABI name "${input.name}"`);
  }
  for (const macro of Object.keys(input.defines ?? {})) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(macro)) throw new KhoError("EINVAL", `bad macro name ${macro}`, input.name);
  }
  const fdt = input.layout instanceof FdtNodeLayout;
  return Object.freeze({
    name: input.name,
    kind: input.kind ?? "subtree",
    format: fdt ? "fdt" : "struct",
    title: input.title,
    summary: input.summary,
    compatible: input.compatible ?? (fdt ? (input.layout as AnyFdtNode).compatible : []),
    version: input.version,
    history: input.history ?? [],
    layout: input.layout,
    related: input.related ?? [],
    defines: input.defines ?? {},
  });
}

/** Every struct a schema involves, main layout first, for generators. */
export function structsOf(schema: AbiSchema): (AnyStruct | PageSized<AnyStruct>)[] {
  const main = schema.format === "struct" ? [schema.layout as AnyStruct | PageSized<AnyStruct>] : [];
  return [...main, ...schema.related];
}
