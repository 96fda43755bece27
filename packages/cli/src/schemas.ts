import type { AbiSchema, AnyPlugin } from "@khosim/kho-core";
import { CORE_ABIS } from "@khosim/kho-core/abi";

/** Every ABI `kho abi` documents: KHO's own, then every version of each plugin's subtrees, in plugin order. */
export function abisOf(plugins: readonly AnyPlugin[]): AbiSchema[] {
  return [...CORE_ABIS, ...plugins.flatMap((p) => [...(p.subtrees ?? []).map((v) => v.abi), ...(p.abis ?? [])])];
}
