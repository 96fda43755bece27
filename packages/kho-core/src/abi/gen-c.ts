import { KhoError } from "../errors.js";
import { type AnyField, ArrayField, CharField, IntField } from "./field.js";
import { abiId } from "./nodes.js";
import { type AbiSchema, structsOf } from "./schema.js";
import { type AnyStruct, StructLayout } from "./struct.js";
import { type AbiPageSize, PageSized } from "./vocabulary.js";

/** Resolves a page-size family to the variant for `pageSize`. */
export function resolveStruct(l: AnyStruct | PageSized<AnyStruct>, pageSize: AbiPageSize): AnyStruct {
  return l instanceof PageSized ? l.at(pageSize) : l;
}

/** Structs in declaration order for C: every nested struct before its user, each once. */
export function structClosure(roots: readonly AnyStruct[]): AnyStruct[] {
  const out: AnyStruct[] = [];
  const byName = new Map<string, AnyStruct>();
  const visit = (f: AnyField): void => {
    if (f instanceof ArrayField) {
      visit(f.element);
      return;
    }
    if (!(f instanceof StructLayout)) return;
    const known = byName.get(f.name);
    if (known === f) return;
    if (known !== undefined) throw new KhoError("EEXIST", `two different layouts named struct ${f.name}`);
    byName.set(f.name, f);
    for (const m of f.members) visit(m.field);
    out.push(f);
  };
  roots.forEach(visit);
  return out;
}

/** A C string literal (the ABI strings are ASCII; anything else is escaped). */
export function cString(s: string): string {
  return `"${Array.from(new TextEncoder().encode(s), (b) =>
    b === 0x22 || b === 0x5c
      ? `\\${String.fromCharCode(b)}`
      : b >= 0x20 && b < 0x7f
        ? String.fromCharCode(b)
        : `\\${b.toString(8).padStart(3, "0")}`,
  ).join("")}"`;
}

function comment(text: string | undefined): string {
  return text === undefined ? "" : ` /* ${text.replaceAll("*/", "* /")} */`;
}

/** `uint32_t name`, `char name[8]`, `struct x name[4]`: the declarator for one member. */
export function cDeclarator(f: AnyField, name: string): string {
  if (f instanceof IntField) return `uint${f.bits}_t ${name}`;
  if (f instanceof CharField) {
    const len =
      f.sizedFor === undefined
        ? String(f.size)
        : `KHO_ABI_ALIGN(sizeof(${cString(f.sizedFor.text)}), ${f.sizedFor.align})`;
    return `char ${name}[${len}]`;
  }
  if (f instanceof ArrayField) return cDeclarator(f.element, `${name}[${f.count}]`);
  if (f instanceof StructLayout) return `struct ${f.name} ${name}`;
  return `uint8_t ${name}[${f.size}]`;
}

/** Notes a C type cannot carry: byte order, pointer meaning. */
function memberNote(f: AnyField): string | undefined {
  const notes: string[] = [];
  if (f instanceof IntField && f.endian === "be") notes.push("big-endian");
  if (f instanceof IntField && f.phys) notes.push("physical address, 0 = none");
  if (f.doc !== undefined) notes.push(f.doc);
  return notes.length === 0 ? undefined : notes.join("; ");
}

/** The C declaration of one struct, `__packed` where the kernel packs it. */
export function cStructDecl(s: AnyStruct): string {
  const lines = s.members.map((m) => `\t${cDeclarator(m.field, m.name)};${comment(memberNote(m.field))}`);
  return `struct ${s.name} {\n${lines.join("\n")}\n}${s.packed ? " __packed" : ""};`;
}

function asserts(s: AnyStruct): string[] {
  return [
    `static_assert(sizeof(struct ${s.name}) == ${s.size}, "sizeof(struct ${s.name})");`,
    ...s.members.map(
      (m) =>
        `static_assert(offsetof(struct ${s.name}, ${m.name}) == ${m.offset}, "offsetof(struct ${s.name}, ${m.name})");`,
    ),
  ];
}

function define(name: string, v: string | number): string {
  return `#define ${name} ${typeof v === "string" ? cString(v) : String(v)}`;
}

export interface CHeaderOptions {
  /** Which variant of page-size dependent layouts to emit; 4096 by default. */
  readonly pageSize?: AbiPageSize;
}

/**
 * A self-contained C11 header for one version of a schema: compatible
 * strings and other macros, the structs, and a static_assert on every size
 * and offset so a compiler checks the layout this project computes. The
 * include guard names the version (`KHO_ABI_COUNTER_V2_H`), so the headers
 * of several versions of one node can be included together
 * (`groupAbiNodes` checks their structs and macros do not clash).
 */
export function generateCHeader(schema: AbiSchema, opts: CHeaderOptions = {}): string {
  const pageSize = opts.pageSize ?? 4096;
  const guard = `KHO_ABI_${abiId(schema)
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, "_")}_H`;
  const structs = structClosure(structsOf(schema).map((l) => resolveStruct(l, pageSize)));
  const needsAlign = structs.some((s) => s.members.some((m) => hasSizedChar(m.field)));
  const out = [
    `/* SPDX-License-Identifier: GPL-2.0-only */`,
    `/* ${schema.title}: generated from the khosim ABI schema "${abiId(schema)}" (PAGE_SIZE ${pageSize}). */`,
    `#ifndef ${guard}`,
    `#define ${guard}`,
    ``,
    `#include <assert.h>`,
    `#include <stddef.h>`,
    `#include <stdint.h>`,
    ``,
    `#ifndef __packed`,
    `#define __packed __attribute__((__packed__))`,
    `#endif`,
  ];
  if (needsAlign) out.push(`#define KHO_ABI_ALIGN(x, a) ((((x) + (a) - 1) / (a)) * (a))`);
  const defines = Object.entries(schema.defines);
  if (defines.length > 0) out.push(``, ...defines.map(([k, v]) => define(k, v)));
  for (const s of structs) out.push(``, cStructDecl(s), ...asserts(s));
  out.push(``, `#endif /* ${guard} */`, ``);
  return out.join("\n");
}

function hasSizedChar(f: AnyField): boolean {
  return f instanceof CharField ? f.sizedFor !== undefined : f instanceof ArrayField && hasSizedChar(f.element);
}
