import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PageAllocator, PhysMem } from "../src/mem/index.js";
import { FrameMarks } from "../src/radix/frame-marks.js";
import { decodeKey, encodePfnKey, keyPath } from "../src/radix/geometry.js";
import { WalkHash } from "../src/radix/stream.js";
import { KhoRadixTree } from "../src/radix/tree.js";
import { WALK_BATCH } from "../src/radix/walk-batch.js";
import { walkAll } from "./helpers/radix-walk.js";

const GiB = 2 ** 30;
const SIZES = [4096, 16384, 65536] as const;

function machine(pageSize: number) {
  const mem = new PhysMem(pageSize, [{ start: GiB, size: 4 * GiB, nid: 0 }]);
  return { mem, tree: KhoRadixTree.create(mem, new PageAllocator(mem)) };
}

/** Whether the key's bit is set, found the straightforward way: u64 slots read from memory, root to leaf. */
function bitInMemory(mem: PhysMem, tree: KhoRadixTree, key: number): boolean {
  const { tableIndices, leafIndex } = keyPath(tree.geometry, key);
  let node = tree.root;
  for (const idx of tableIndices) {
    node = mem.readU64Number(node + 8 * idx);
    if (node === 0) return false;
  }
  return ((mem.readU8(node + (leafIndex >>> 3)) >>> (leafIndex & 7)) & 1) === 1;
}

describe("radix add: the remembered leaf and path (kho_radix_add_page, kho_radix_del_page)", () => {
  it("property: adds and deletes across leaves and tables change the bit a root-to-leaf descent reads", () => {
    const op = fc.record({
      add: fc.boolean(),
      order: fc.integer({ min: 0, max: 3 }),
      // Frames across a few level-1 and level-2 tables at every page size, so consecutive keys share a path
      // down to different levels.
      pfn: fc.oneof(fc.integer({ min: 0, max: 2 ** 16 }), fc.integer({ min: 0, max: 2 ** 34 })),
    });
    fc.assert(
      fc.property(fc.constantFrom(...SIZES), fc.array(op, { maxLength: 150 }), (s, ops) => {
        const { mem, tree } = machine(s);
        const g = tree.geometry;
        const live = new Set<number>();
        for (const o of ops) {
          const pfn = Math.floor(o.pfn / 2 ** o.order) * 2 ** o.order;
          const key = encodePfnKey(g, pfn, o.order);
          if (o.add) {
            tree.addPage(pfn, o.order);
            live.add(key);
          } else {
            tree.delPage(pfn, o.order);
            live.delete(key);
          }
          expect(bitInMemory(mem, tree, key)).toBe(o.add);
        }
        // A tree with no remembered state, on the same memory, walks exactly the live keys.
        const fresh = KhoRadixTree.adopt(mem, tree.root);
        const want = [...live].sort((a, b) => a - b).map((k) => decodeKey(g, k));
        expect(walkAll(fresh)).toEqual(want.map((d) => [d.phys, d.order]));
      }),
      { numRuns: 120 },
    );
  });
});

describe("radix walk in batches", () => {
  it("hands over the blocks of a per-block walk, in order, in several batches of at most WALK_BATCH", () => {
    const { tree } = machine(4096);
    // More set bits in one leaf than a batch holds, then blocks in other leaves and tables.
    const pfns = [...Array.from({ length: WALK_BATCH + 700 }, (_, i) => i), 2 ** 20 + 5, 2 ** 33 + 7];
    for (const pfn of pfns) tree.addPage(pfn, 0);
    const sizes: number[] = [];
    const seen: [number, number][] = [];
    const r = tree.walkBatches({
      batch(phys, orders, n) {
        sizes.push(n);
        for (let i = 0; i < n; i++) seen.push([phys[i]!, orders[i]!]);
        return 0;
      },
    });
    expect(r).toBe(0);
    expect(seen).toEqual(pfns.map((pfn) => [pfn * 4096, 0]));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(WALK_BATCH);
    expect(sizes.length).toBeGreaterThan(2);
    expect(walkAll(tree)).toEqual(seen);
  });

  it("a walk from inside a callback gets a batch of its own: both see every block", () => {
    const { tree } = machine(4096);
    const pfns = Array.from({ length: 3 * WALK_BATCH }, (_, i) => 7 * i);
    for (const pfn of pfns) tree.addPage(pfn, 0);
    const want = pfns.map((pfn) => [pfn * 4096, 0]);
    const outer: [number, number][] = [];
    let inner: [number, number][] = [];
    tree.walk((phys, order) => {
      outer.push([phys, order]);
      if (outer.length === 5) inner = walkAll(tree);
      return 0;
    });
    expect(outer).toEqual(want);
    expect(inner).toEqual(want);
  });

  it("a callback that stops the walk is called up to the block that stopped it, and its result is the walk's", () => {
    const { tree } = machine(4096);
    for (let pfn = 0; pfn < 9 * WALK_BATCH; pfn += 3) tree.addPage(pfn, 0);
    for (const stopAt of [0, 1, WALK_BATCH - 1, WALK_BATCH, WALK_BATCH + 1]) {
      let calls = 0;
      const r = tree.walk(() => (calls++ === stopAt ? -5 : 0));
      expect([r, calls]).toEqual([-5, stopAt + 1]);
    }
  });

  it("a stop before a corrupt node leaves it unread: nothing past the stopping block is checked", () => {
    const { mem, tree } = machine(4096);
    tree.addPage(1, 0);
    tree.addPage(2 ** 45, 0); // another subtree under the table below the root, walked after the first block
    const { tableIndices } = keyPath(tree.geometry, encodePfnKey(tree.geometry, 2 ** 45, 0));
    const below = mem.readU64Number(tree.root + 8 * tableIndices[0]!);
    mem.writeU64(below + 8 * tableIndices[1]!, 0x1234); // not page aligned
    expect(tree.walk(() => 1)).toBe(1);
    expect(() => tree.walk(() => 0)).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });

  it("keys of the leaf of prefix 0 (orders past order0Log2 - bitmapLog2) decode each with its own order", () => {
    for (const s of SIZES) {
      const { tree } = machine(s);
      const g = tree.geometry;
      const low = g.order0Log2 - g.bitmapLog2 + 1;
      const blocks: [number, number][] = [];
      for (let order = low; order <= g.maxOrder; order += 3) blocks.push([2 ** order, order], [0, order]);
      for (const [pfn, order] of blocks) tree.addPage(pfn, order);
      const keys = [...new Set(blocks.map(([pfn, order]) => encodePfnKey(g, pfn, order)))].sort((a, b) => a - b);
      expect(keys.every((k) => k < g.leafBits)).toBe(true);
      expect(walkAll(tree)).toEqual(keys.map((k) => [decodeKey(g, k).phys, decodeKey(g, k).order]));
    }
  });
});

describe("FrameMarks (the walk's loop and shared-node check)", () => {
  it("property: marks each frame once, as a Set does, inside the bitmap's span and outside it", () => {
    const first = 2 ** 20;
    const frame = fc.oneof(
      fc.integer({ min: first, max: first + 5000 }),
      fc.integer({ min: first, max: first + 2 ** 26 + 100 }),
      fc.integer({ min: 0, max: first }),
      fc.integer({ min: 0, max: 2 ** 52 }),
    );
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 300 }), (pfns) => {
        const marks = new FrameMarks(first);
        const model = new Set([first]);
        for (const pfn of pfns) {
          expect(marks.mark(pfn)).toBe(!model.has(pfn));
          model.add(pfn);
        }
      }),
    );
  });
});

describe("WalkHash (the reference's walk_hash)", () => {
  const P = 0x100000001b3n;
  const M = (1n << 64n) - 1n;
  function model(blocks: readonly [bigint, number][]): string {
    let h = 0xcbf29ce484222325n;
    for (const [phys, order] of blocks)
      for (const v of [phys, BigInt(order)]) {
        h = ((h ^ v) * P) & M;
        h ^= h >> 29n;
      }
    return `0x${h.toString(16).padStart(16, "0")}`;
  }

  it("property: equals the digest on 64-bit integers, for any addresses below 2^64 and any batch split", () => {
    // An address a number holds exactly: up to 52 significant bits shifted left by up to 12.
    const block = fc.tuple(fc.bigInt({ min: 0n, max: (1n << 52n) - 1n }), fc.integer({ min: 0, max: 12 }), fc.nat(64));
    fc.assert(
      fc.property(fc.array(block, { maxLength: 200 }), fc.integer({ min: 1, max: 50 }), (raw, split) => {
        const blocks = raw.map(([m, e, order]): [bigint, number] => [m << BigInt(e), order]);
        const hash = new WalkHash();
        for (let i = 0; i < blocks.length; i += split) {
          const part = blocks.slice(i, i + split);
          hash.batch(
            Float64Array.from(part, ([p]) => Number(p)),
            Uint8Array.from(part, ([, o]) => o),
            part.length,
          );
        }
        expect(hash.toString()).toBe(model(blocks));
        expect(hash.walked).toBe(blocks.length);
      }),
    );
  });
});
