import type { AnyFdtNode, AnyProp } from "./fdt-layout.js";
import { type AnyField, IntField } from "./field.js";
import { cString, cStructDecl, resolveStruct, structClosure } from "./gen-c.js";
import { type AbiNode, abiId } from "./nodes.js";
import { type AbiSchema, structsOf, type VersionNote } from "./schema.js";
import { type AnyStruct, StructLayout } from "./struct.js";
import { ABI_PAGE_SIZES, PageSized } from "./vocabulary.js";

function heading(level: number): string {
  return "#".repeat(level);
}

/** Table cells must not break the row. */
function cell(text: string | undefined): string {
  return (text ?? "").replaceAll("|", "\\|").replaceAll("\n", " ");
}

function code(text: string): string {
  return `\`${text}\``;
}

function fieldMeaning(f: AnyField): string {
  const parts: string[] = [];
  if (f instanceof IntField && f.phys) parts.push("Physical address, 0 = none.");
  if (f.doc !== undefined) parts.push(f.doc);
  return parts.join(" ");
}

/** Rows of a struct table; nested structs are flattened so every offset shows. */
function structRows(s: AnyStruct, base: number, prefix: string): string[] {
  return s.members.flatMap((m) => {
    const cells = [base + m.offset, m.field.size, code(m.field.typeName), code(prefix + m.name)];
    const row = `| ${cells.join(" | ")} | ${cell(fieldMeaning(m.field))} |`;
    return m.field instanceof StructLayout
      ? [row, ...structRows(m.field, base + m.offset, `${prefix}${m.name}.`)]
      : [row];
  });
}

function structSection(l: AnyStruct | PageSized<AnyStruct>, level: number): string[] {
  const s = resolveStruct(l, 4096);
  const out = [
    `${heading(level)} struct ${s.name}`,
    ``,
    ...(s.doc === undefined ? [] : [s.doc, ``]),
    `${s.size} bytes, ${s.packed ? "`__packed`" : `not packed, naturally aligned (alignment ${s.align})`}.`,
    ``,
    `| Offset | Size | Type | Field | Meaning |`,
    `|---|---|---|---|---|`,
    ...structRows(s, 0, ""),
  ];
  if (l instanceof PageSized) {
    const variants = ABI_PAGE_SIZES.map((ps) => [ps, l.at(ps)] as const);
    const differing = s.members.filter(
      (m) => new Set(variants.map(([, v]) => v.members.find((x) => x.name === m.name)?.field.typeName)).size > 1,
    );
    out.push(
      ``,
      `The layout depends on PAGE_SIZE; the table above is for 4096.`,
      ``,
      `| PAGE_SIZE | sizeof | ${differing.map((m) => code(m.name)).join(" | ")} |`,
      `|---|---|${differing.map(() => "---|").join("")}`,
      ...variants.map(([ps, v]) => {
        const types = differing.map((m) => code(v.members.find((x) => x.name === m.name)!.field.typeName));
        return `| ${ps} | ${v.size} | ${types.join(" | ")} |`;
      }),
    );
  }
  return out;
}

function dtsLines(node: AnyFdtNode, name: string, indent: string): string[] {
  const props = node.propList.map(([k, p]) => {
    const value = k === "compatible" && node.compatible.length > 0 ? cString(node.compatible[0]!) : p.dts;
    return `${indent}\t${k} = ${value};${p.required ? "" : " /* optional */"}`;
  });
  const child = node.childLayout();
  const children = child === undefined ? [] : [...dtsLines(child, `${node.childName}`, `${indent}\t`)];
  if (child !== undefined) children[0] += " /* zero or more */";
  return [`${indent}${name} {`, ...props, ...children, `${indent}};`];
}

function propRows(node: AnyFdtNode, path: string): string[] {
  const rows = node.propList.map(
    ([k, p]: [string, AnyProp]) =>
      `| ${code(path)} | ${code(k)} | ${p.sizeText} | ${cell(p.dts)} | ${p.required ? "yes" : "no"} | ${cell(p.doc)} |`,
  );
  const child = node.childLayout();
  return child === undefined ? rows : [...rows, ...propRows(child, `${path === "/" ? "" : path}/${node.childName}`)];
}

function fdtSection(node: AnyFdtNode, level: number): string[] {
  return [
    `${heading(level)} FDT layout`,
    ``,
    ...(node.doc === undefined ? [] : [node.doc, ``]),
    "```dts",
    ...dtsLines(node, "/", ""),
    "```",
    ``,
    `| Node | Property | Size | Encoding | Required | Meaning |`,
    `|---|---|---|---|---|---|`,
    ...propRows(node, "/"),
  ];
}

function historyLines(history: readonly VersionNote[], level: number): string[] {
  if (history.length === 0) return [];
  return [
    ``,
    `${heading(level)} Version history`,
    ``,
    `| Version | Change |`,
    `|---|---|`,
    ...history.map((h) => `| ${code(h.version)} | ${cell(h.change)} |`),
  ];
}

/**
 * Facts, `history` (when any), layout, structures, C declaration and
 * constants of one version; its headings start at `level`.
 */
function versionSections(schema: AbiSchema, level: number, history: readonly VersionNote[]): string[] {
  const structs = structsOf(schema);
  const facts: [string, string][] = [];
  if (schema.kind === "subtree") facts.push(["KHO node name", code(schema.name)]);
  facts.push(["Format", schema.format === "fdt" ? "flattened devicetree" : "raw struct"]);
  facts.push(["Compatible", schema.compatible.length === 0 ? "none" : schema.compatible.map(code).join(", ")]);
  facts.push(["Version", schema.version]);
  const out = [`| | |`, `|---|---|`, ...facts.map(([k, v]) => `| ${k} | ${v} |`), ...historyLines(history, level)];
  if (schema.format === "fdt") out.push(``, ...fdtSection(schema.layout as AnyFdtNode, level));
  if (structs.length > 0) {
    out.push(``, `${heading(level)} Structures`);
    for (const s of structs) out.push(``, ...structSection(s, level + 1));
    const decls = structClosure(structs.map((s) => resolveStruct(s, 4096))).map(cStructDecl);
    out.push(``, `${heading(level)} C declaration`, ``, "```c", decls.join("\n\n"), "```");
  }
  const defines = Object.entries(schema.defines);
  if (defines.length > 0) {
    out.push(``, `${heading(level)} Constants`, ``, `| Name | Value |`, `|---|---|`);
    out.push(...defines.map(([k, v]) => `| ${code(k)} | ${code(typeof v === "string" ? cString(v) : String(v))} |`));
  }
  return out;
}

/** The Markdown ABI page of one schema. */
export function generateMarkdown(schema: AbiSchema): string {
  return [
    `# ${schema.title}`,
    ``,
    `<!-- Generated from the ABI schema "${schema.name}"; regenerate with \`npm run docs\`. -->`,
    ``,
    schema.summary,
    ``,
    ...versionSections(schema, 2, schema.history),
    ``,
  ].join("\n");
}

/**
 * The page of one KHO node: a single-version node is that version's page;
 * with several, a table of versions, the history (each version's notes,
 * once, oldest first), then every version in a section of its own.
 */
export function generateNodeMarkdown(node: AbiNode): string {
  if (node.versions.length === 1) return generateMarkdown(node.versions[0]!);
  const newest = node.versions.at(-1)!;
  // Histories are usually cumulative (v2 repeats v1's note): each note once, in order of appearance.
  const notes = new Map(node.versions.flatMap((v) => v.history).map((h) => [`${h.version}\0${h.change}`, h]));
  const history = [...notes.values()];
  return [
    `# ${node.name}: ${node.versions.length} versions`,
    ``,
    `<!-- Generated from the ABI schemas of node "${node.name}"; regenerate with \`npm run docs\`. -->`,
    ``,
    newest.summary,
    ``,
    `| Version | Id | Compatible | Title |`,
    `|---|---|---|---|`,
    ...node.versions.map((v) => {
      const compatible = v.compatible.length === 0 ? "none" : v.compatible.map(code).join(", ");
      return `| ${v.version} | ${code(abiId(v))} | ${compatible} | ${cell(v.title)} |`;
    }),
    ...historyLines(history, 2),
    ...node.versions.flatMap((v) => [``, `## ${v.title} (${code(abiId(v))})`, ``, ...versionSections(v, 3, [])]),
    ``,
  ].join("\n");
}
