import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KhoError } from "../src/errors.js";
import { ctz, getOrder, IntervalSet, ilog2, PageAllocator, PfnBytes, PhysMem } from "../src/mem/index.js";
import { parseSize } from "../src/units.js";

const GiB = 2 ** 30;
const TiB = 2 ** 40;

describe("parseSize", () => {
  it.each([
    ["4KiB", 4096],
    ["16KiB", 16384],
    ["2MiB", 2 * 2 ** 20],
    ["1TiB", TiB],
    ["0x1000", 4096],
    ["4096", 4096],
    ["64k", 65536],
  ])("%s = %d", (text, n) => expect(parseSize(text)).toBe(n));

  it("rejects garbage and sizes past 53 bits with typed errors", () => {
    expect(() => parseSize("4 parsecs")).toThrow(KhoError);
    expect(() => parseSize("99999999PiB")).toThrowError(/53 bits/);
  });
});

describe("bit helpers", () => {
  it("ctz(0) is 64 like the kernel, ilog2 floors, getOrder rounds up", () => {
    expect(ctz(0)).toBe(64);
    expect(ctz(8)).toBe(3);
    expect(ilog2(10)).toBe(3);
    expect(getOrder(1, 12)).toBe(0);
    expect(getOrder(4097, 12)).toBe(1);
    expect(getOrder(73, 12)).toBe(0);
  });
});

describe("PhysMem", () => {
  it("a 1 TiB machine with 4 KiB pages costs host memory only for written pages", () => {
    const before = process.memoryUsage().heapUsed;
    const mem = new PhysMem(4096, [
      { start: 0, size: TiB / 2, nid: 0 },
      { start: TiB / 2, size: TiB / 2, nid: 1 },
    ]);
    const alloc = new PageAllocator(mem);
    expect(mem.totalBytes).toBe(TiB);
    expect(alloc.freePages).toBe(TiB / 4096);
    expect(mem.populatedPages).toBe(0);
    mem.writeU64(TiB - 8, 0x1122334455667788n);
    mem.writeU32(3 * GiB, 0xdeadbeef);
    expect(mem.populatedPages).toBe(2);
    expect(mem.readU64(TiB - 8)).toBe(0x1122334455667788n);
    expect(mem.readU32(3 * GiB)).toBe(0xdeadbeef);
    expect(mem.readU8(5 * GiB)).toBe(0);
    expect(mem.populatedPages).toBe(2);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 2 ** 20);
    expect(mem.nidOf(TiB / 4096 - 1)).toBe(1);
    expect(mem.nodes).toEqual([0, 1]);
  });

  it("stores little-endian values across page boundaries", () => {
    const mem = new PhysMem(4096, [{ start: 0, size: 1 << 20, nid: 0 }]);
    mem.writeU64(4092, 0x0102030405060708n);
    expect([...mem.read(4092, 8)]).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect(mem.readU64(4092)).toBe(0x0102030405060708n);
  });

  it("zero() clears partial and whole pages, over small and huge ranges alike", () => {
    const mem = new PhysMem(4096, [{ start: 0, size: 64 << 20, nid: 0 }]);
    const fill = () => {
      for (const pa of [0x1000, 0x2000, 0x3000, 0x3ff0000]) mem.write(pa, new Uint8Array(4096).fill(0xaa));
    };
    fill();
    mem.zero(0x1800, 0x1000); // second half of one page, first half of the next
    expect(mem.readU8(0x17ff)).toBe(0xaa);
    expect(mem.readU8(0x1800)).toBe(0);
    expect(mem.readU8(0x27ff)).toBe(0);
    expect(mem.readU8(0x2800)).toBe(0xaa);
    expect(mem.populatedPages).toBe(4);
    mem.zero(0x2a00, (64 << 20) - 0x2a00 - 16); // far more pages than are stored
    expect(mem.readU8(0x29ff)).toBe(0xaa);
    expect(mem.readU8(0x2a00)).toBe(0);
    expect(mem.readU8(0x3000)).toBe(0);
    expect(mem.populatedPages).toBe(2); // 0x1000 and 0x2000 keep bytes; 0x3000 and 0x3ff0000 were whole
    fill();
    mem.zero(0, 64 << 20);
    expect(mem.populatedPages).toBe(0);
  });

  it("refuses access outside RAM with EFAULT", () => {
    const mem = new PhysMem(16384, [{ start: 1 << 20, size: 1 << 20, nid: 0 }]);
    expect(() => mem.readU8(0)).toThrowError(expect.objectContaining({ code: "EFAULT" }));
    expect(() => mem.write((2 << 20) - 2, new Uint8Array(4))).toThrowError(expect.objectContaining({ code: "EFAULT" }));
  });

  it("rejects bad page sizes and unaligned or overlapping ranges", () => {
    expect(() => new PhysMem(8192, [])).toThrowError(/page size/);
    expect(() => new PhysMem(4096, [{ start: 100, size: 4096, nid: 0 }])).toThrowError(/aligned/);
    expect(
      () =>
        new PhysMem(4096, [
          { start: 0, size: 8192, nid: 0 },
          { start: 4096, size: 8192, nid: 1 },
        ]),
    ).toThrowError(/overlap/);
  });

  it("a poisoned page raises EHWPOISON naming the address and the reader", () => {
    const mem = new PhysMem(4096, [{ start: 0, size: 1 << 20, nid: 0 }]);
    mem.write(0x3000, Uint8Array.of(1, 2, 3));
    mem.poison(3, 2, "not preserved at kexec");
    mem.actor = "plugin demo";
    const err = (() => {
      try {
        mem.read(0x2ff0, 0x20);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(KhoError);
    expect(err).toMatchObject({ code: "EHWPOISON", where: "0x3000" });
    expect(String((err as Error).message)).toMatch(/plugin demo.*0x3000.*not preserved/);
    expect(() => mem.writeU8(0x4fff, 1)).toThrowError(/0x4fff/);
    expect(mem.readU8(0x5000)).toBe(0);
    mem.unpoison(3, 2);
    expect(mem.readU8(0x3000)).toBe(0); // poisoning dropped the old contents
  });
});

describe("PageAllocator", () => {
  const mk = () => {
    const mem = new PhysMem(4096, [
      { start: 0, size: 64 << 20, nid: 0 },
      { start: 64 << 20, size: 64 << 20, nid: 1 },
    ]);
    return { mem, alloc: new PageAllocator(mem) };
  };

  it("hands out naturally aligned, zeroed blocks and takes them back", () => {
    const { mem, alloc } = mk();
    const a = alloc.alloc(0);
    const b = alloc.alloc(3);
    expect(b % (8 * 4096)).toBe(0);
    mem.writeU32(b, 7);
    alloc.freeBlock(b, 3);
    const c = alloc.alloc(3);
    expect(c).toBe(b);
    expect(mem.readU32(c)).toBe(0);
    expect(alloc.orderOf(a)).toBe(0);
    expect(() => alloc.freeBlock(c, 2)).toThrowError(/allocated with order 3/);
    expect(() => alloc.freeBlock(0x7000, 0)).toThrowError(/not allocated/);
  });

  it("allocates on a requested node and respects a restriction to scratch", () => {
    const { alloc } = mk();
    expect(alloc.alloc(2, { nid: 1 })).toBeGreaterThanOrEqual(64 << 20);
    alloc.restrictTo([{ start: 100 << 20, size: 1 << 20 }]);
    const pa = alloc.alloc(4);
    expect(pa).toBeGreaterThanOrEqual(100 << 20);
    expect(pa + (16 << 12)).toBeLessThanOrEqual(101 << 20);
    expect(() => alloc.alloc(9)).toThrowError(expect.objectContaining({ code: "ENOMEM" }));
    alloc.restrictTo(null);
    expect(alloc.alloc(9)).toBeLessThan(64 << 20);
  });

  it("never hands out reserved memory and unpoisons what it hands out", () => {
    const { mem, alloc } = mk();
    alloc.reserve(0, 1 << 20);
    mem.poison(256, 16, "left by the previous kernel");
    const pa = alloc.alloc(4);
    expect(pa).toBe(1 << 20);
    expect(mem.isPoisoned(256)).toBe(false);
    expect(mem.readU8(pa)).toBe(0);
  });

  it("never hands out overlapping blocks (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.boolean()), { maxLength: 60 }), (ops) => {
        const mem = new PhysMem(4096, [{ start: 0, size: 2 << 20, nid: 0 }]);
        const alloc = new PageAllocator(mem);
        const live: [number, number][] = [];
        for (const [order, freeOne] of ops) {
          if (freeOne && live.length) {
            const [pa, o] = live.shift()!;
            alloc.freeBlock(pa, o);
            continue;
          }
          try {
            live.push([alloc.alloc(order), order]);
          } catch (e) {
            expect(e).toMatchObject({ code: "ENOMEM" });
          }
        }
        const spans = live.map(([pa, o]) => [pa, pa + 4096 * 2 ** o] as const).sort((x, y) => x[0] - y[0]);
        for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
        const used = live.reduce((s, [, o]) => s + 2 ** o, 0);
        expect(alloc.freePages).toBe(512 - used);
      }),
    );
  });
});

describe("IntervalSet", () => {
  it("matches a naive set under random adds and removes (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(60), fc.nat(12))), (ops) => {
        const set = new IntervalSet();
        const naive = new Set<number>();
        for (const [add, s, len] of ops) {
          if (add) set.add(s, s + len);
          else set.remove(s, s + len);
          for (let x = s; x < s + len; x++) add ? naive.add(x) : naive.delete(x);
        }
        for (let x = 0; x < 80; x++) expect(set.has(x)).toBe(naive.has(x));
        expect(set.size).toBe(naive.size);
        const iv = [...set.intervals()];
        for (let i = 1; i < iv.length; i++) expect(iv[i]![0]).toBeGreaterThan(iv[i - 1]![1]);
      }),
    );
  });
});

describe("IntervalSet.firstAligned", () => {
  it("is the first aligned run the interval-by-interval search finds (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.nat(200), fc.nat(40))),
        fc.nat(200),
        fc.nat(200),
        fc.constantFrom(1, 2, 4, 8, 16),
        (ops, a, b, align) => {
          const set = new IntervalSet();
          for (const [add, s, len] of ops) add ? set.add(s, s + len) : set.remove(s, s + len);
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          let naive: number | undefined;
          for (let x = Math.ceil(lo / align) * align; x + align <= hi && naive === undefined; x += align)
            if (set.covers(x, x + align)) naive = x;
          expect(set.firstAligned(lo, hi, align)).toBe(naive);
        },
      ),
    );
  });
});

describe("PfnBytes", () => {
  it("behaves as a Map of frame numbers under random sets, gets and deletes (property)", () => {
    // Frames clustered (runs an allocator hands out) and spread up to 52-bit frame numbers.
    const pfn = fc.oneof(
      fc.nat(300),
      fc.integer({ min: 0, max: 2 ** 40 - 1 }).map((x) => x - (x % 7)),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("set", "delete"), pfn, fc.integer({ min: 1, max: 255 }))),
        (ops) => {
          const bytes = new PfnBytes();
          const model = new Map<number, number>();
          for (const [op, p, v] of ops) {
            if (op === "set") {
              bytes.set(p, v);
              model.set(p, v);
            } else expect(bytes.delete(p)).toBe(model.delete(p));
          }
          expect(bytes.size).toBe(model.size);
          for (const [, p] of ops) expect(bytes.get(p)).toBe(model.get(p) ?? 0);
          expect(bytes.entries()).toEqual([...model.entries()].sort((x, y) => x[0] - y[0]));
        },
      ),
    );
  });

  it("reads a non-frame number as absent, and clear empties it", () => {
    const bytes = new PfnBytes();
    for (let p = 0; p < 100_000; p++) bytes.set(p, (p % 255) + 1);
    expect(bytes.size).toBe(100_000);
    expect(bytes.get(99_999)).toBe((99_999 % 255) + 1);
    for (const odd of [-1, 0.5, Number.NaN]) {
      expect(bytes.get(odd)).toBe(0);
      expect(bytes.delete(odd)).toBe(false);
    }
    bytes.clear();
    expect(bytes.size).toBe(0);
    expect(bytes.get(5)).toBe(0);
  });
});
