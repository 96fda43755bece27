import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KhoError } from "../src/errors.js";
import { PageAllocator, PhysMem } from "../src/mem/index.js";
import {
  decodeKey,
  encodeKey,
  encodePfnKey,
  KhoRadixTree,
  keyPath,
  type RadixNodeAllocator,
  radixGeometry,
} from "../src/radix/index.js";
import { walkAll } from "./helpers/radix-walk.js";

const GiB = 2 ** 30;
const SIZES = [4096, 16384, 65536] as const;

/** A machine with 4 GiB of RAM at 1 GiB; preserved keys need not be RAM, node pages must. */
function machine(pageSize: number, opts: { legacyDepth?: boolean; warn?: (m: string) => void } = {}) {
  const mem = new PhysMem(pageSize, [{ start: GiB, size: 4 * GiB, nid: 0 }]);
  const alloc = new PageAllocator(mem);
  const tree = KhoRadixTree.create(mem, alloc, opts);
  return { mem, alloc, tree };
}

/** Every node page's bytes, to prove a call left memory untouched. */
function snapshot(tree: KhoRadixTree): Map<number, string> {
  const m = new Map<number, string>();
  for (const pa of tree.nodePagePAs()) m.set(pa, Buffer.from(tree.mem.read(pa, tree.mem.pageSize)).toString("base64"));
  return m;
}

/** Passes allocations through until `limit` have been made, then fails them. */
function limited(inner: PageAllocator): RadixNodeAllocator & { allocs: number; limit: number } {
  return {
    allocs: 0,
    limit: Infinity,
    alloc(order) {
      if (this.allocs >= this.limit) throw new KhoError("ENOMEM", "test allocator is out of pages");
      this.allocs++;
      return inner.alloc(order);
    },
    freeBlock: (pa, order) => inner.freeBlock(pa, order),
  };
}

describe("radix geometry and keys", () => {
  it("checklist 1: the depth is 6 with 4 KiB pages, 5 with 16 KiB and 4 with 64 KiB", () => {
    expect(SIZES.map((s) => radixGeometry(s).depth)).toEqual([6, 5, 4]);
    expect(SIZES.map((s) => radixGeometry(s, { legacyDepth: true }).depth)).toEqual([6, 4, 4]);
    expect(radixGeometry(4096).levelShifts).toEqual([15, 24, 33, 42, 51]);
    expect(radixGeometry(16384).levelShifts).toEqual([17, 28, 39, 50]);
    expect(radixGeometry(65536).levelShifts).toEqual([19, 32, 45]);
    for (const s of SIZES) expect(machine(s).tree.geometry.depth).toBe(radixGeometry(s).depth);
  });

  it("checklist 2: tables of 512 / 2048 / 8192 entries, leaves of 32768 / 131072 / 524288 bits", () => {
    expect(SIZES.map((s) => radixGeometry(s).tableEntries)).toEqual([512, 2048, 8192]);
    expect(SIZES.map((s) => radixGeometry(s).leafBits)).toEqual([32768, 131072, 524288]);
    for (const s of SIZES) {
      const { mem, tree } = machine(s);
      const g = tree.geometry;
      // The last order-0 block of the 52-bit space: every table index is the top one.
      const pfn = 2 ** (52 - g.pageShift) - 1;
      tree.addPage(pfn, 0);
      const { tableIndices, leafIndex } = keyPath(g, encodePfnKey(g, pfn, 0));
      let node = tree.root;
      for (const idx of tableIndices) {
        const child = mem.readU64Number(node + 8 * idx); // a little-endian u64 physical address
        expect(child % s).toBe(0);
        node = child;
      }
      expect(mem.readU8(node + (leafIndex >> 3))).toBe(1 << (leafIndex & 7)); // bit i: byte i/8, bit i%8
      expect(tree.nodePages).toBe(g.depth);
    }
  });

  it("checklist 3: encode(0x1000, 0) is 0x0010000000000001 with 4 KiB pages and decodes to (0x1000, 0)", () => {
    const g = radixGeometry(4096);
    expect(encodeKey(g, 0x1000, 0)).toBe(0x0010000000000001);
    expect(encodeKey(g, 0x1000n, 0)).toBe(0x0010000000000001);
    expect(decodeKey(g, 0x0010000000000001)).toEqual({ phys: 0x1000, order: 0 });
    expect(keyPath(g, 0x0010000000000001)).toEqual({ tableIndices: [2, 0, 0, 0, 0], leafIndex: 1 });
    // The spec's second example: pa 0x200000 order 9 goes root[0] -> L4[2] -> 0 -> 0 -> 0 -> bit 1.
    expect(encodeKey(g, 0x200000, 9)).toBe(0x0000080000000001);
    expect(keyPath(g, 0x0000080000000001)).toEqual({ tableIndices: [0, 2, 0, 0, 0], leafIndex: 1 });
    // Bits below the order alignment are dropped; the order bit leaves a 64-bit word on decode.
    expect(encodeKey(g, 0x1fff, 0)).toBe(0x0010000000000001);
    expect(decodeKey(g, encodeKey(g, 0xfffffffffffff000n, 0))).toEqual({ phys: 0xfffffffffffff000, order: 0 });
    expect(() => encodeKey(g, 0x1000, 52)).toThrow(KhoError);
    expect(() => decodeKey(g, 2 ** 53)).toThrow(/wider than 53 bits/);
  });

  it("encode and decode round-trip for every order and aligned 64-bit address", () => {
    for (const s of SIZES) {
      const g = radixGeometry(s);
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: g.maxOrder }),
          fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          (order, raw) => {
            const pa = raw & ~((1n << BigInt(g.pageShift + order)) - 1n);
            const d = decodeKey(g, encodeKey(g, pa, order));
            expect(BigInt(d.phys)).toBe(pa);
            expect(d.order).toBe(order);
          },
        ),
        { numRuns: 300 },
      );
    }
  });
});

describe("KhoRadixTree", () => {
  it("checklist 4: with the pre-fix depth of 4 and 16 KiB pages an order-0 page is not returned by the walk", () => {
    const { tree } = machine(16384, { legacyDepth: true });
    expect(tree.geometry.depth).toBe(4);
    tree.addPage(1, 0); // pa 0x4000, key 0x0004000000000001
    // The order bit (key bit 50) is never indexed: the walk rebuilds key 1, order 50.
    expect(walkAll(tree)).toEqual([[0, 50]]);
  });

  it("legacyDepth with 16 KiB pages loses an order-0 page on walk; the fixed depth finds it", () => {
    const legacy = machine(16384, { legacyDepth: true }).tree;
    const fixed = machine(16384).tree;
    for (const t of [legacy, fixed]) {
      t.addPage(1, 0);
      t.addPage(8, 3);
    }
    expect(walkAll(fixed)).toEqual([
      [8 * 16384, 3],
      [16384, 0],
    ]);
    const seen = walkAll(legacy);
    expect(seen).not.toContainEqual([16384, 0]);
    expect(seen).toContainEqual([8 * 16384, 3]);
  });

  it("legacyDepth at 16 KiB aliases an order-0 key 2^50 | x with the order-1 key x when bit 49 of x is set", () => {
    const { tree } = machine(16384, { legacyDepth: true });
    const pfn = 2 ** 49 + 5; // pa 2^63 + 5 * 16 KiB, the only way to set key bit 49 at order 0
    tree.addPage(pfn, 0);
    expect(walkAll(tree)).toEqual([[5 * 32768, 1]]);
    tree.addPage(5 * 2, 1); // the order-1 block at pa 5 * 32 KiB has that same key
    expect(walkAll(tree)).toEqual([[5 * 32768, 1]]);
    tree.delPage(pfn, 0);
    expect(walkAll(tree)).toEqual([]);
    // The fixed depth keeps them apart.
    const fixed = machine(16384).tree;
    fixed.addPage(pfn, 0);
    fixed.addPage(10, 1);
    expect(walkAll(fixed)).toEqual([
      [5 * 32768, 1],
      [2 ** 63 + 5 * 16384, 0],
    ]);
  });

  it("checklist 5: the walk is in ascending key order, so an order-2 key comes before any order-0 key", () => {
    const { tree } = machine(4096);
    tree.addPage(7, 0);
    tree.addPage(1, 0);
    tree.addPage(1000, 2);
    tree.addPage(0x10000, 9);
    tree.addPage(2, 1);
    expect(walkAll(tree)).toEqual([
      [0x10000 * 4096, 9],
      [1000 * 4096, 2],
      [2 * 4096, 1],
      [1 * 4096, 0],
      [7 * 4096, 0],
    ]);
  });

  it("checklist 6: re-add is a no-op, one delete removes, a missing path warns and changes nothing", () => {
    const warnings: string[] = [];
    const { tree, alloc } = machine(4096, { warn: (m) => warnings.push(m) });
    tree.addPage(0x1234, 0);
    const pages = tree.nodePages;
    const bytes = snapshot(tree);
    tree.addPage(0x1234, 0);
    expect(snapshot(tree)).toEqual(bytes);
    expect(walkAll(tree)).toEqual([[0x1234 * 4096, 0]]);

    tree.delPage(0x1234, 0);
    expect(walkAll(tree)).toEqual([]);
    expect(tree.nodePages).toBe(pages);
    expect(alloc.allocatedBlocks).toBe(pages);
    tree.delPage(0x1234, 0); // the bit is already clear: silent
    tree.delPage(0x1235, 0); // same leaf, never set: silent
    expect(warnings).toEqual([]);

    const before = snapshot(tree);
    tree.delPage(0x1234, 3); // no order-3 path exists
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/no node at level/);
    expect(snapshot(tree)).toEqual(before);
    expect(tree.nodePages).toBe(pages);
  });

  it("checklist 7: a node allocation failure during add leaves the tree exactly as before", () => {
    for (const s of SIZES) {
      const mem = new PhysMem(s, [{ start: GiB, size: 4 * GiB, nid: 0 }]);
      const inner = new PageAllocator(mem);
      const fa = limited(inner);
      const tree = KhoRadixTree.create(mem, fa);
      tree.addPage(3, 0);
      tree.addPage(8, 2);
      const bytes = snapshot(tree);
      const blocks = inner.allocatedBlocks;
      // An order-1 key shares at most the root with these: its new path fails at every depth in turn.
      let failures = 0;
      for (let budget = 0; ; budget++) {
        fa.limit = fa.allocs + budget;
        try {
          tree.addPage(4, 1);
        } catch (e) {
          expect(e).toMatchObject({ code: "ENOMEM" });
          expect(snapshot(tree)).toEqual(bytes);
          expect(inner.allocatedBlocks).toBe(blocks);
          expect(walkAll(tree)).toEqual([
            [8 * s, 2],
            [3 * s, 0],
          ]);
          failures++;
          continue;
        }
        break;
      }
      expect(failures).toBeGreaterThanOrEqual(radixGeometry(s).depth - 2);
      expect(walkAll(tree)).toContainEqual([4 * s, 1]);
    }
  });

  it("the walk stops at the first non-zero callback result and returns it", () => {
    const { tree } = machine(4096);
    for (let i = 0; i < 10; i++) tree.addPage(i, 0);
    let calls = 0;
    expect(
      tree.walk((phys) => {
        calls++;
        return phys === 4 * 4096 ? -22 : 0;
      }),
    ).toBe(-22);
    expect(calls).toBe(5);
    expect(tree.walk(() => 0)).toBe(0);
  });

  it("an adopted root (the incoming side) walks the same keys and lists the same node pages", () => {
    const { mem, tree } = machine(65536);
    tree.addPage(12345, 0);
    tree.addPage(2 ** 20, 4);
    const incoming = KhoRadixTree.adopt(mem, tree.root);
    expect(walkAll(incoming)).toEqual(walkAll(tree));
    expect(incoming.nodePagePAs()).toEqual(tree.nodePagePAs());
    expect(() => incoming.addPage(2 ** 30, 0)).toThrow(expect.objectContaining({ code: "ENOMEM" }));
    expect(() => KhoRadixTree.adopt(mem, tree.root + 8)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(() => KhoRadixTree.adopt(mem, 0x1000_0000)).toThrow(expect.objectContaining({ code: "EFAULT" }));
  });

  describe("walks of corrupted trees end in a typed error", () => {
    function corrupted(edit: (mem: PhysMem, tree: KhoRadixTree, path: number[]) => void) {
      const { mem, tree } = machine(4096);
      tree.addPage(0x1234, 0);
      const g = tree.geometry;
      const path = [tree.root];
      for (const idx of keyPath(g, encodePfnKey(g, 0x1234, 0)).tableIndices)
        path.push(mem.readU64Number(path.at(-1)! + 8 * idx));
      edit(mem, tree, path);
      const incoming = KhoRadixTree.adopt(mem, tree.root);
      return () => incoming.walk(() => 0);
    }
    const slot = (mem: PhysMem, node: number, idx: number, v: bigint | number) => mem.writeU64(node + 8 * idx, v);

    it("a child that is not RAM", () => {
      const walk = corrupted((mem, _t, path) => slot(mem, path[2]!, 7, 0x7000_0000_0000));
      expect(walk).toThrow(expect.objectContaining({ code: "EFAULT" }));
    });
    it("a child pointing back to an ancestor", () => {
      const walk = corrupted((mem, t, path) => slot(mem, path[3]!, 9, t.root));
      expect(walk).toThrow(
        expect.objectContaining({ code: "EINVAL", message: expect.stringMatching(/already part of the tree/) }),
      );
    });
    it("two slots sharing one child (exponential revisits otherwise)", () => {
      const walk = corrupted((mem, _t, path) => slot(mem, path[1]!, 100, path[2]!));
      expect(walk).toThrow(expect.objectContaining({ code: "EINVAL" }));
    });
    it("a misaligned child", () => {
      const walk = corrupted((mem, _t, path) => slot(mem, path[4]!, 1, path[4]! + 8));
      expect(walk).toThrow(
        expect.objectContaining({ code: "EINVAL", message: expect.stringMatching(/not page aligned/) }),
      );
    });
    it("a u64 above 2^53", () => {
      const walk = corrupted((mem, _t, path) => slot(mem, path[1]!, 3, 0xffff_ffff_ffff_f000n));
      expect(walk).toThrow(KhoError);
    });
    it("a root slot beyond the key width", () => {
      const walk = corrupted((mem, _t, path) => slot(mem, path[0]!, 4, path[1]!));
      expect(walk).toThrow(
        expect.objectContaining({ code: "EINVAL", message: expect.stringMatching(/beyond the 53-bit key space/) }),
      );
    });
  });

  it("property: random adds and deletes leave exactly the live set, walked in ascending key order", () => {
    const op = fc.record({
      add: fc.boolean(),
      order: fc.integer({ min: 0, max: 12 }),
      // Mostly a small window so deletes hit and leaves are shared; sometimes anywhere in 52 bits.
      pfn: fc.oneof(fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 0, max: 2 ** 40 - 1 })),
    });
    fc.assert(
      fc.property(fc.constantFrom(...SIZES), fc.array(op, { maxLength: 120 }), (s, ops) => {
        const { tree } = machine(s);
        const g = tree.geometry;
        const live = new Map<number, [number, number]>();
        const everAdded = new Set<number>();
        for (const o of ops) {
          const pfn = Math.floor(o.pfn / 2 ** o.order) * 2 ** o.order;
          const key = encodePfnKey(g, pfn, o.order);
          if (o.add) {
            tree.addPage(pfn, o.order);
            live.set(key, [pfn * s, o.order]);
            everAdded.add(key);
          } else {
            tree.delPage(pfn, o.order);
            live.delete(key);
          }
        }
        const want = [...live.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
        expect(walkAll(tree)).toEqual(want);
        // One root plus one node per distinct key prefix above each level: deletes free nothing.
        let nodes = 1;
        for (const shift of g.levelShifts) nodes += new Set([...everAdded].map((k) => Math.floor(k / 2 ** shift))).size;
        expect(tree.nodePages).toBe(nodes);
      }),
      { numRuns: 150 },
    );
  });
});
