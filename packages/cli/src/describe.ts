import { type AnyPlugin, type AnyStruct, isKhoError, type JsonValue, StructLayout } from "@khosim/kho-core";
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
 * blob is (`identify`), and decodes it with that version's struct layout.
 * FDT subtrees are already shown as FDT by the debugfs decoder. This is
 * the one place the CLI decodes a subtree through a plugin.
 */
export function describeSubtree(
  plugins: readonly AnyPlugin[],
  name: string,
  blob: Uint8Array,
): SubtreeDescription | null {
  for (const plugin of plugins)
    for (const v of plugin.subtrees ?? []) {
      if (v.abi.name !== name || !(v.abi.layout instanceof StructLayout) || v.identify?.(blob) !== abiId(v.abi))
        continue;
      const layout: AnyStruct = v.abi.layout;
      const base = { name, plugin: plugin.name, id: abiId(v.abi) };
      if (blob.length < layout.size)
        return { ...base, problem: `${blob.length} bytes, struct ${layout.name} is ${layout.size}` };
      try {
        return { ...base, value: layout.toJson(layout.decode(blob.subarray(0, layout.size))) };
      } catch (e) {
        if (!isKhoError(e)) throw e;
        return { ...base, problem: e.message };
      }
    }
  return null;
}

export function descriptionLine(d: SubtreeDescription): string {
  return `${d.plugin} (${d.id}): ${d.problem ?? JSON.stringify(d.value)}`;
}
