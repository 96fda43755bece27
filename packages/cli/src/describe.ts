import type { AnyPlugin, JsonValue } from "@khosim/kho-core";
import { abiId } from "@khosim/kho-core/abi";

/** What a plugin makes of one subtree blob: the version it recognises and the decoded value, or why it cannot. */
export interface SubtreeDescription {
  readonly name: string;
  readonly plugin: string;
  readonly id: string;
  readonly value?: JsonValue;
  readonly problem?: string;
}

/**
 * Asks the plugins that own the node `name` which of their versions the
 * blob is (`identify`), and has that version describe it. This is the one
 * place the CLI decodes a subtree through a plugin.
 */
export function describeSubtree(
  plugins: readonly AnyPlugin[],
  name: string,
  blob: Uint8Array,
): SubtreeDescription | null {
  for (const plugin of plugins)
    for (const v of plugin.subtrees ?? []) {
      if (v.abi.name !== name) continue;
      const claimed = v.identify(blob);
      if (claimed === null || !v.abi.compatible.includes(claimed)) continue;
      const d = v.describe(blob);
      const base = { name, plugin: plugin.name, id: abiId(v.abi) };
      return d.problems?.length
        ? { ...base, value: d.fields, problem: d.problems.join("; ") }
        : { ...base, value: d.fields };
    }
  return null;
}

export function descriptionLine(d: SubtreeDescription): string {
  return `${d.plugin} (${d.id}): ${d.problem ?? JSON.stringify(d.value)}`;
}
