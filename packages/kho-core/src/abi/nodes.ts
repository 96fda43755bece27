import { KhoError } from "../errors.js";
import { resolveStruct, structClosure } from "./gen-c.js";
import { type AbiSchema, structsOf } from "./schema.js";

/**
 * The id of one version of an ABI, as `kho abi` names it and the plugin
 * host pins it: a subtree's compatible string (`counter-v2`,
 * `kexec-metadata-v1`), or `<node>-v<version>` when it has none; a core
 * ABI's name (`kho-root`).
 */
export function abiId(schema: AbiSchema): string {
  if (schema.kind === "core") return schema.name;
  return schema.compatible[0] ?? `${schema.name}-v${schema.version}`;
}

/** Every version of one KHO node (or the one version of a core ABI), in the order they were given. */
export interface AbiNode {
  readonly name: string;
  readonly versions: readonly AbiSchema[];
}

function structNames(schema: AbiSchema): string[] {
  return structClosure(structsOf(schema).map((l) => resolveStruct(l, 4096))).map((s) => s.name);
}

/**
 * A reader of version 2 includes the headers of version 1 and 2 in one
 * translation unit: two versions of a node must not declare a struct of the
 * same name, nor one macro with two values. Either is EEXIST naming both.
 */
function checkTogether(node: AbiNode): void {
  const structOwner = new Map<string, string>();
  const macros = new Map<string, { id: string; value: string | number }>();
  for (const v of node.versions) {
    const id = abiId(v);
    for (const s of structNames(v)) {
      const other = structOwner.get(s);
      if (other !== undefined)
        throw new KhoError(
          "EEXIST",
          `struct ${s} is declared by both ${other} and ${id}; name it per version`,
          node.name,
        );
      structOwner.set(s, id);
    }
    for (const [k, value] of Object.entries(v.defines)) {
      const other = macros.get(k);
      if (other !== undefined && other.value !== value)
        throw new KhoError("EEXIST", `macro ${k} is ${other.value} in ${other.id} and ${value} in ${id}`, node.name);
      macros.set(k, { id, value });
    }
  }
}

/**
 * Groups schemas by node name, in order of first appearance, and checks
 * that each node's versions have distinct ids and can be compiled together.
 * The same schema given twice (a plugin loaded twice) counts once.
 */
export function groupAbiNodes(schemas: readonly AbiSchema[]): AbiNode[] {
  const byName = new Map<string, AbiSchema[]>();
  for (const s of schemas) {
    const list = byName.get(s.name) ?? [];
    if (list.includes(s)) continue;
    const clash = list.find((v) => abiId(v) === abiId(s));
    if (clash !== undefined) throw new KhoError("EEXIST", `two different schemas are both ${abiId(s)}`, s.name);
    list.push(s);
    byName.set(s.name, list);
  }
  const nodes = [...byName].map(([name, versions]) => ({ name, versions }));
  nodes.forEach(checkTogether);
  return nodes;
}
