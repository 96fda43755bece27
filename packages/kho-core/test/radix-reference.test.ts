import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KhoError } from "../src/errors.js";
import {
  COUNT_WINDOW_BYTES,
  type CountSpec,
  countTree,
  decodeKey,
  encodeKey,
  formatCount,
  KEY_PATTERNS,
  keyPath,
  keyStream,
  radixGeometry,
} from "../src/radix/index.js";
import { hex } from "../src/units.js";
import { referenceCountLine, referenceKeys, runReference } from "./helpers/reference.js";

interface RefVector {
  phys: string;
  order: number;
  key: string;
  table_indices: number[];
  leaf_index: number;
  decoded_phys: string;
  decoded_order: number;
}
interface RefPageSize {
  page_size: number;
  order0_log2: number;
  table_size_log2: number;
  bitmap_size_log2: number;
  depth: number;
  depth_old: number;
  max_order: number;
  key_bits: number;
  covered_bits: number;
  covered_bits_old: number;
  vectors: RefVector[];
}

const spec = (s: Partial<CountSpec>): CountSpec => ({
  pageShift: 12,
  pages: 1000,
  order: 0,
  pattern: "seq",
  seed: 1n,
  deleteEvery: 0,
  ...s,
});

describe("radix tree against the C reference", () => {
  it("geometry, encode, table path, leaf bit and decode match every reference vector", () => {
    const doc = JSON.parse(runReference(["vectors"])) as { page_sizes: RefPageSize[] };
    expect(doc.page_sizes).toHaveLength(3);
    for (const ps of doc.page_sizes) {
      const g = radixGeometry(ps.page_size);
      const old = radixGeometry(ps.page_size, { legacyDepth: true });
      expect([
        g.order0Log2,
        g.tableLog2,
        g.bitmapLog2,
        g.depth,
        old.depth,
        g.maxOrder,
        g.keyBits,
        g.coveredBits,
        old.coveredBits,
      ]).toEqual([
        ps.order0_log2,
        ps.table_size_log2,
        ps.bitmap_size_log2,
        ps.depth,
        ps.depth_old,
        ps.max_order,
        ps.key_bits,
        ps.covered_bits,
        ps.covered_bits_old,
      ]);
      expect(ps.vectors.length).toBeGreaterThan(20);
      for (const v of ps.vectors) {
        const key = encodeKey(g, BigInt(v.phys), v.order);
        expect(hex(key)).toBe(v.key);
        expect(keyPath(g, key)).toEqual({ tableIndices: v.table_indices, leafIndex: v.leaf_index });
        const d = decodeKey(g, key);
        expect([hex(d.phys), d.order]).toEqual([v.decoded_phys, v.decoded_order]);
      }
    }
  });

  it("key streams are the reference's, block for block", () => {
    for (const pageShift of [12, 14, 16])
      for (const pattern of KEY_PATTERNS)
        for (const [order, seed] of [
          [0, 1n],
          [3, 0n],
          [9, 0xdeadbeefcafef00dn],
        ] as const) {
          const s = spec({ pageShift, pattern, order, seed, pages: 300 });
          const ks = keyStream(s);
          const mine = Array.from({ length: s.pages }, (_, i): [bigint, number] => [
            BigInt(ks.pfnAt(i)) << BigInt(pageShift),
            order,
          ]);
          expect(mine).toEqual(referenceKeys(s));
        }
  });

  it("count: node pages, walked blocks and walk hash equal the reference's on every pattern and page size", () => {
    for (const pageShift of [12, 14, 16])
      for (const pattern of KEY_PATTERNS)
        for (const [order, pages, deleteEvery] of [
          [0, 20000, 0],
          [2, 5000, 3],
          [7, 3000, 1],
        ] as const) {
          const s = spec({ pageShift, pattern, order, pages, deleteEvery, seed: 7n });
          expect(formatCount(countTree(s), true)).toBe(referenceCountLine(s));
        }
  });

  it("issue 13: count in windows of a few node pages equals the reference's, shared nodes counted once", () => {
    for (const pageShift of [12, 16])
      for (const pattern of ["seq", "sparse"] as const)
        for (const [order, pages, deleteEvery, windowPages] of [
          [0, 5000, 0, 8],
          [0, 3000, 3, 20],
          [2, 4000, 1, 9],
        ] as const) {
          const s = spec({ pageShift, pattern, order, pages, deleteEvery, seed: 7n });
          const r = countTree({ ...s, windowBytes: windowPages << pageShift });
          if (pattern === "sparse") expect(r.windows).toBeGreaterThan(1);
          expect(formatCount(r, true)).toBe(referenceCountLine(s));
        }
  });

  it("issue 13: sparse with 2^17 blocks is counted in windows of at most 64 MiB of node pages", () => {
    const s = spec({ pageShift: 12, pattern: "sparse", order: 0, pages: 1 << 17, deleteEvery: 5, seed: 1n });
    const r = countTree(s);
    // One 4 KiB leaf per block: 512 MiB of node pages at once before, 16 384 pages a window now.
    expect(r.windows).toBeGreaterThanOrEqual((s.pages * 4096) / COUNT_WINDOW_BYTES);
    expect(formatCount(r, true)).toBe(referenceCountLine(s));
  }, 60_000);

  it("property: for random key streams the node-page count, walk and hash equal the reference's", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(12, 14, 16),
        fc.constantFrom(...KEY_PATTERNS),
        fc.integer({ min: 0, max: 14 }),
        fc.integer({ min: 0, max: 4000 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.integer({ min: 0, max: 9 }),
        (pageShift, pattern, order, pages, seed, deleteEvery) => {
          const s = spec({ pageShift, pattern, order, pages, seed, deleteEvery });
          let mine: string;
          try {
            mine = formatCount(countTree(s), true);
          } catch (e) {
            // A stream the reference refuses too (a random stream larger than its span).
            expect(e).toBeInstanceOf(KhoError);
            expect(() => referenceCountLine(s)).toThrow();
            return;
          }
          expect(mine).toBe(referenceCountLine(s));
        },
      ),
      { numRuns: 40 },
    );
  });
});
