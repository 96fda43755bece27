import type { KhoRadixTree } from "../../src/radix/tree.js";

/** Every preserved block of a tree as [physical address, order], in walk order. */
export function walkAll(tree: KhoRadixTree): [number, number][] {
  const out: [number, number][] = [];
  tree.walk((phys, order) => {
    out.push([phys, order]);
    return 0;
  });
  return out;
}
