import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { kho_block_header_ser } from "../src/abi/index.js";
import {
  KhoBlockSet,
  readBlockCount,
  readBlockHeader,
  readBlockNext,
  slotBytes,
  slotPage,
  writeBlockCount,
  writeBlockHeader,
} from "../src/block/index.js";
import { KhoError } from "../src/errors.js";
import { PageAllocator, PhysMem } from "../src/mem/index.js";

const PAGE = 4096;
const mem = () => new PhysMem(PAGE, [{ start: 0, size: 1 << 22, nid: 0 }]);

/** Block addresses: page-aligned (every block a kernel makes) and misaligned (a corrupted chain's). */
const blockPa = fc.oneof(
  fc.integer({ min: 1, max: 1000 }).map((p) => p * PAGE),
  fc.integer({ min: PAGE, max: (1 << 22) - 2 * PAGE }),
);

const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
/** Values around the largest address the simulator holds exactly. */
const near53 = fc.bigInt({ min: 2n ** 53n - 3n, max: 2n ** 53n + 3n });

describe("block header fast path (count in the page's bytes) agrees with the ABI codec", () => {
  it("readBlockCount equals the u64 count for every header, exactly up to 2^53, at least 2^53 above", () => {
    fc.assert(
      fc.property(blockPa, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (pa, count) => {
        const m = mem();
        writeBlockHeader(m, pa, { next: 0x1234_5000, count });
        const got = readBlockCount(m, pa);
        if (count < 2n ** 53n) expect(got).toBe(Number(count));
        else expect(got).toBeGreaterThanOrEqual(2 ** 53);
      }),
    );
  });

  it("readBlockNext is readBlockHeader's next: the address up to 2^53 - 1, ERANGE from 2^53", () => {
    fc.assert(
      fc.property(blockPa, fc.oneof(u64, near53), (pa, next) => {
        const m = mem();
        m.writeU64(pa, next);
        if (next <= BigInt(Number.MAX_SAFE_INTEGER)) {
          expect(readBlockNext(m, pa)).toBe(Number(next));
          expect(readBlockHeader(m, pa).next).toBe(Number(next));
        } else {
          expect(() => readBlockNext(m, pa)).toThrow(/is not a physical address/);
        }
      }),
    );
  });

  it("writeBlockCount stores the u64 the codec decodes and leaves next as it was", () => {
    fc.assert(
      fc.property(
        blockPa,
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        (pa, n, old) => {
          const m = mem();
          writeBlockHeader(m, pa, { next: 0xabc_d000, count: old });
          writeBlockCount(m, pa, n);
          expect(kho_block_header_ser.decode(m.read(pa, kho_block_header_ser.size))).toEqual({
            next: 0xabc_d000n,
            count: BigInt(n),
          });
          expect(readBlockHeader(m, pa)).toEqual({ next: 0xabc_d000, count: BigInt(n) });
        },
      ),
    );
  });

  it("a set's pages hold the same bytes as a header rewrite per entry would leave", () => {
    const m = mem();
    const alloc = new PageAllocator(m);
    alloc.reserve(0, PAGE);
    const set = new KhoBlockSet(
      {
        mem: m,
        allocPreserve: () => alloc.alloc(0),
        unpreserveFree: (pa) => alloc.freeBlock(pa, 0),
        restoreFree: () => {},
      },
      64,
    );
    set.grow(200);
    const it = set.iterator();
    for (let i = 0; i < 130; i++) it.reserveEntry();
    const counts = set.blocks.map((pa) => kho_block_header_ser.decode(m.read(pa, 16)).count);
    expect(counts).toEqual([63n, 63n, 4n, 0n]);
  });
});

describe("slotBytes: entries in place", () => {
  it("is a live view of the page: writes through it are what PhysMem reads", () => {
    fc.assert(
      fc.property(fc.integer({ min: PAGE, max: 100 * PAGE }), fc.integer({ min: 1, max: 128 }), (pa, len) => {
        const m = mem();
        const view = slotBytes(m, pa, len);
        const crosses = Math.floor(pa / PAGE) !== Math.floor((pa + len - 1) / PAGE);
        if (crosses) {
          expect(view).toBeNull();
          return;
        }
        view!.fill(0xa5);
        expect([...m.read(pa, len)]).toEqual(new Array(len).fill(0xa5));
        m.write(pa, new Uint8Array(len).fill(7));
        expect([...view!]).toEqual(new Array(len).fill(7));
      }),
    );
  });

  it("slotPage is the page slotBytes views, with the slot at pa % pageSize; null across pages", () => {
    fc.assert(
      fc.property(fc.integer({ min: PAGE, max: 100 * PAGE }), fc.integer({ min: 1, max: 128 }), (pa, len) => {
        const m = mem();
        const page = slotPage(m, pa, len);
        const view = slotBytes(m, pa, len);
        expect(page === null).toBe(view === null);
        if (!page) return;
        expect(page).toHaveLength(PAGE);
        page.fill(0x3c, pa % PAGE, (pa % PAGE) + len);
        expect([...m.read(pa, len)]).toEqual(new Array(len).fill(0x3c));
        expect([...view!]).toEqual(new Array(len).fill(0x3c));
      }),
    );
  });

  it("touching a poisoned page through it is EHWPOISON, as a read would be", () => {
    const m = mem();
    m.poison(3, 1, "not handed over");
    expect(() => slotBytes(m, 3 * PAGE + 64, 64)).toThrow(KhoError);
    try {
      slotBytes(m, 3 * PAGE + 64, 64);
    } catch (e) {
      expect((e as KhoError).code).toBe("EHWPOISON");
    }
  });
});
