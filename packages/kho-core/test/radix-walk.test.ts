import { describe, expect, it } from "vitest";
import { KhoError } from "../src/errors.js";
import { PageAllocator } from "../src/mem/alloc.js";
import { PhysMem } from "../src/mem/phys.js";
import { encodePfnKey, keyPath } from "../src/radix/geometry.js";
import { KhoRadixTree } from "../src/radix/tree.js";
import { walkAll } from "./helpers/radix-walk.js";

const GiB = 2 ** 30;

function machine() {
  const mem = new PhysMem(4096, [{ start: GiB, size: 4 * GiB, nid: 0 }]);
  return { mem, tree: KhoRadixTree.create(mem, new PageAllocator(mem)) };
}

// The walk skips empty u64 words four at a time by reading them as doubles; the one non-zero
// u64 that equals 0 as a double is bit 63 alone (-0), which must still count as set.
describe("radix walk: a u64 word holding only bit 63", () => {
  it("in a leaf is a preserved block, alone in its group of four words or not", () => {
    const { tree } = machine();
    // Leaf bit 64 * w + 63 is bit 63 of u64 word w; order-0 keys of frames below 2^15 map to leaf bit = frame.
    const pfns = [63, 64 * 5 + 63, 64 * 6 + 1, 64 * 511 + 63];
    for (const pfn of pfns) tree.addPage(pfn, 0);
    expect(walkAll(tree)).toEqual(pfns.map((pfn) => [pfn * 4096, 0]));
  });

  it("in a table slot is a child pointer: the walk checks it (2^63 is not RAM) instead of skipping it", () => {
    const { mem, tree } = machine();
    tree.addPage(0x1234, 0);
    const g = tree.geometry;
    // The table below the root on the block's path; its slot 9 (with 8, 10 and 11 empty) gets bit 63 alone.
    const top = keyPath(g, encodePfnKey(g, 0x1234, 0)).tableIndices[0]!;
    const table = mem.readU64Number(tree.root + 8 * top);
    mem.writeU64(table + 8 * 9, 1n << 63n);
    const incoming = KhoRadixTree.adopt(mem, tree.root);
    const notRam = expect.objectContaining({ code: "EFAULT", message: expect.stringMatching(/slot 9 .* is not RAM/) });
    expect(() => incoming.walk(() => 0)).toThrow(notRam);
    expect(() => incoming.nodePagePAs()).toThrow(notRam);
  });
});

describe("radix add after a failed node allocation (checklist 7)", () => {
  it("writes the retried path into memory: an adopted tree on the same root walks the block", () => {
    const mem = new PhysMem(4096, [{ start: GiB, size: 4 * GiB, nid: 0 }]);
    const inner = new PageAllocator(mem);
    let allowed = 2;
    const alloc = {
      alloc(order: number) {
        if (allowed-- <= 0) throw new KhoError("ENOMEM", "test allocator is out of pages");
        return inner.alloc(order);
      },
      freeBlock: (pa: number, order: number) => inner.freeBlock(pa, order),
    };
    const tree = KhoRadixTree.create(mem, alloc);
    // The root and one table succeed, the next table fails: both new pages go back to the allocator.
    expect(() => tree.addPage(0x1234, 0)).toThrow(expect.objectContaining({ code: "ENOMEM" }));
    allowed = Infinity;
    // The retry gets the same freed pages back for the same slots; it must not reuse views of their old storage.
    tree.addPage(0x1234, 0);
    expect(walkAll(KhoRadixTree.adopt(mem, tree.root))).toEqual([[0x1234 * 4096, 0]]);
    expect(walkAll(tree)).toEqual([[0x1234 * 4096, 0]]);
  });
});
