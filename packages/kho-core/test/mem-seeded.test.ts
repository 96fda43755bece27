import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isKhoError } from "../src/errors.js";
import { PhysMem, seededBytes, seededPageInto } from "../src/mem/index.js";

const PAGE = 4096;
const GiB = 2 ** 30;

const mem = () =>
  new PhysMem(PAGE, [
    { start: 0, size: 512 * GiB, nid: 0 },
    { start: 512 * GiB, size: 512 * GiB, nid: 1 },
  ]);

describe("seeded fill", () => {
  it("any byte window equals the same bytes of the whole page as stored on first write (property)", () => {
    fc.assert(
      fc.property(
        fc.nat(0xffffffff),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.nat(PAGE - 1),
        fc.nat(PAGE),
        (seed, pfn, off, len) => {
          const n = Math.min(len, PAGE - off);
          const page = new Uint8Array(PAGE);
          seededPageInto(seed, pfn, page);
          expect(seededBytes(seed, pfn, off, n)).toEqual(page.subarray(off, off + n));
        },
      ),
    );
  });

  it("gives 256 GiB contents that are a function of seed and address without host memory", () => {
    const m = mem();
    const before = process.memoryUsage().heapUsed;
    m.fillSeeded(GiB, 256 * GiB, 7);
    expect(m.populatedPages).toBe(0);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(16 * 2 ** 20);
    const pa = GiB + 123 * GiB + 5 * PAGE + 100;
    const pfn = Math.floor(pa / PAGE);
    expect(m.read(pa, 64)).toEqual(seededBytes(7, pfn, 100, 64));
    // Another seed, another address: other bytes; the same seed and address: the same bytes.
    expect(seededBytes(8, pfn, 100, 64)).not.toEqual(seededBytes(7, pfn, 100, 64));
    expect(seededBytes(7, pfn + 1, 100, 64)).not.toEqual(seededBytes(7, pfn, 100, 64));
    expect(seededBytes(7, pfn, 0, PAGE).subarray(100, 164)).toEqual(seededBytes(7, pfn, 100, 64));
    // Words within a page differ from their neighbours (a shifted copy never matches).
    const w = new Uint32Array(seededBytes(7, pfn, 0, PAGE).buffer);
    expect(new Set(w).size).toBe(w.length);
    expect(m.seedOf(pfn)).toBe(7);
    expect(m.seededRuns(0, 2 ** 28)).toEqual([{ start: GiB / PAGE, end: (257 * GiB) / PAGE, seed: 7 }]);
  });

  it("a page keeps its fill when first written (then it is stored), loses it when zeroed whole", () => {
    const m = mem();
    m.fillSeeded(0x100000, 4 * PAGE, 1);
    const page1 = m.read(0x101000, PAGE);
    m.writeU8(0x101010, page1[0x10]! ^ 0xff);
    expect(m.populatedPages).toBe(1);
    expect(m.seedOf(0x101)).toBeUndefined();
    const after = m.read(0x101000, PAGE);
    expect(after[0x10]).toBe(page1[0x10]! ^ 0xff);
    after[0x10] = page1[0x10]!;
    expect(after).toEqual(page1);
    // Zero half of page 2 (stored first, the rest of its fill kept) and all of page 3 (the fill is gone).
    const page2 = m.read(0x102000, PAGE);
    m.zero(0x102800, 0x1800 + PAGE);
    expect(m.read(0x102000, 0x800)).toEqual(page2.subarray(0, 0x800));
    expect(m.read(0x102800, 0x800)).toEqual(new Uint8Array(0x800));
    expect(m.read(0x103000, PAGE)).toEqual(new Uint8Array(PAGE));
    expect(m.seededRuns(0x100, 0x104)).toEqual([{ start: 0x100, end: 0x101, seed: 1 }]);
  });

  it("poison drops the fill: the page is unreadable, and zero once given back", () => {
    const m = mem();
    m.fillSeeded(0x200000, 2 * PAGE, 3);
    m.poison(0x200, 1, "not handed over");
    expect(() => m.read(0x200000, 8)).toThrowError(expect.objectContaining({ code: "EHWPOISON" }));
    m.unpoison(0x200);
    expect(m.read(0x200000, PAGE)).toEqual(new Uint8Array(PAGE));
    expect(m.seedOf(0x201)).toBe(3);
  });

  it("compareSeeded finds the first page that differs, reading only pages no longer following the seed", () => {
    const m = mem();
    m.fillSeeded(0x400000, 16 * PAGE, 9);
    expect(m.compareSeeded(0x400000, 16 * PAGE, 9)).toBe(-1);
    expect(m.compareSeeded(0x400000, 16 * PAGE, 10)).toBe(0x400000);
    // Rewritten with its own bytes: stored now, still equal.
    m.write(0x405000, m.read(0x405000, PAGE));
    expect(m.seedOf(0x405)).toBeUndefined();
    expect(m.compareSeeded(0x400000, 16 * PAGE, 9)).toBe(-1);
    m.writeU32(0x40a0fc, m.readU32(0x40a0fc) + 1);
    m.fillSeeded(0x40c000, PAGE, 11);
    expect([...m.seededDiffs(0x400000, 16 * PAGE, 9)]).toEqual([0x40a000, 0x40c000]);
  });

  it("a fill replaces what the pages stored; bad seeds and unaligned ranges are EINVAL", () => {
    const m = mem();
    m.writeU64(0x300008, 0x1234n);
    m.fillSeeded(0x300000, PAGE, 4);
    expect(m.populatedPages).toBe(0);
    expect(m.read(0x300000, 16)).toEqual(seededBytes(4, 0x300, 0, 16));
    for (const bad of [
      () => m.fillSeeded(0x300001, PAGE, 1),
      () => m.fillSeeded(0x300000, 100, 1),
      () => m.fillSeeded(0x300000, PAGE, -1),
      () => m.fillSeeded(0x300000, PAGE, 2 ** 32),
      () => m.compareSeeded(0x300000, PAGE, 1.5),
    ]) {
      try {
        bad();
        expect.unreachable();
      } catch (e) {
        expect(isKhoError(e, "EINVAL")).toBe(true);
      }
    }
    expect(() => m.fillSeeded(1024 * GiB, PAGE, 1)).toThrowError(/not RAM/);
  });
});

/** The first index where `a` and `b` differ within `a`'s length, or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe("PhysMem against a byte model", () => {
  const PAGES = 600; // more than one 2 MiB slab of 4 KiB pages
  const op = fc.oneof(
    fc.record({
      kind: fc.constant("fill" as const),
      page: fc.nat(PAGES - 1),
      pages: fc.integer({ min: 1, max: 600 }),
      seed: fc.nat(3),
    }),
    fc.record({
      kind: fc.constant("write" as const),
      at: fc.nat(PAGES * PAGE - 1),
      len: fc.integer({ min: 1, max: 9000 }),
    }),
    fc.record({
      kind: fc.constant("zero" as const),
      at: fc.nat(PAGES * PAGE - 1),
      len: fc.integer({ min: 1, max: 3 * PAGE }),
    }),
    fc.record({ kind: fc.constant("poison" as const), page: fc.nat(PAGES - 1), pages: fc.integer({ min: 1, max: 4 }) }),
  );

  it("reads back what fills, writes, zeroes and poison left; compareSeeded agrees with a scan (property)", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), fc.nat(PAGES - 1), fc.nat(3), (ops, probe, seed) => {
        const m = new PhysMem(PAGE, [{ start: 0, size: PAGES * PAGE, nid: 0 }]);
        const model = new Uint8Array(PAGES * PAGE);
        const views: Uint8Array[] = [];
        let stamp = 1;
        for (const o of ops) {
          if (o.kind === "fill") {
            const pages = Math.min(o.pages, PAGES - o.page);
            m.unpoison(o.page, pages);
            m.fillSeeded(o.page * PAGE, pages * PAGE, o.seed);
            for (let p = o.page; p < o.page + pages; p++) model.set(seededBytes(o.seed, p, 0, PAGE), p * PAGE);
          } else if (o.kind === "poison") {
            const pages = Math.min(o.pages, PAGES - o.page);
            m.poison(o.page, pages, "test");
            m.unpoison(o.page, pages);
            model.fill(0, o.page * PAGE, (o.page + pages) * PAGE);
          } else {
            const len = Math.min(o.len, PAGES * PAGE - o.at);
            const first = Math.floor(o.at / PAGE);
            m.unpoison(first, Math.ceil((o.at + len) / PAGE) - first);
            if (o.kind === "zero") {
              m.zero(o.at, len);
              model.fill(0, o.at, o.at + len);
            } else {
              const bytes = new Uint8Array(len).fill(stamp++ & 0xff);
              m.write(o.at, bytes);
              model.set(bytes, o.at);
              views.push(m.page(first));
            }
          }
        }
        // Compared by hand: a deep equality of megabytes is far slower than the operations under test.
        expect(firstDifference(m.read(0, PAGES * PAGE), model)).toBe(-1);
        // Views handed out earlier never alias another page: writing through stale ones changes nothing readable
        // except the page they still stand for.
        for (const v of views) v.fill(0xee);
        const stored = new Set(m.populatedPfns());
        for (let p = 0; p < PAGES; p++)
          if (!stored.has(p)) expect(firstDifference(m.read(p * PAGE, PAGE), model.subarray(p * PAGE))).toBe(-1);
        // compareSeeded: the fast answer for a range still following its seed, else the first differing page.
        const pages = Math.min(8, PAGES - probe);
        let want = -1;
        for (let p = probe; p < probe + pages && want < 0; p++)
          if (firstDifference(m.read(p * PAGE, PAGE), seededBytes(seed, p, 0, PAGE)) >= 0) want = p * PAGE;
        expect(m.compareSeeded(probe * PAGE, pages * PAGE, seed)).toBe(want);
      }),
      { numRuns: 15 },
    );
  });
});

describe("PhysMem.readInto", () => {
  it("gives what read gives over stored, seeded and never-written pages, whatever the buffer held before", () => {
    const mem = new PhysMem(4096, [{ start: 0, size: 64 * 4096, nid: 0 }]);
    mem.fillSeeded(4 * 4096, 8 * 4096, 99);
    mem.write(6 * 4096 + 100, new Uint8Array([1, 2, 3]));
    mem.write(20 * 4096, new Uint8Array(4096).fill(0xaa));
    const out = new Uint8Array(3 * 4096);
    for (const pa of [0, 3 * 4096, 5 * 4096 + 7, 10 * 4096, 19 * 4096 + 1, 30 * 4096]) {
      out.fill(0x5c);
      expect(mem.readInto(pa, out)).toBe(out);
      expect(out).toEqual(mem.read(pa, out.length));
    }
    expect(() => mem.readInto(63 * 4096, out)).toThrow(/not RAM/);
  });
});
