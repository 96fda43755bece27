import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { kho_block_header_ser } from "../src/abi/index.js";
import {
  BLOCK_HEADER_SIZE,
  type BlockBackend,
  KHO_MAX_BLOCKS,
  KhoBlockSet,
  readBlockHeader,
  writeBlockHeader,
} from "../src/block/index.js";
import { KhoError } from "../src/errors.js";
import { PageAllocator, PhysMem } from "../src/mem/index.js";

const MiB = 2 ** 20;
/** Size of `struct luo_session_ser`: the entry the checklist's session items are about. */
const LUO_SESSION_SER_SIZE = 80;

type Call = ["alloc" | "unpreserveFree" | "restoreFree", number];

/**
 * A backend over real simulated memory that records every call and can be
 * told to fail the n-th allocation, as kho_alloc_preserve would with ENOMEM.
 */
class RecordingBackend implements BlockBackend {
  readonly alloc: PageAllocator;
  readonly calls: Call[] = [];
  failAt: number | undefined;
  private allocs = 0;

  constructor(readonly mem: PhysMem) {
    this.alloc = new PageAllocator(mem);
    // Page 0 is never handed out by the kernel; a chain uses 0 as its end.
    this.alloc.reserve(0, mem.pageSize);
  }

  allocPreserve(size: number): number {
    expect(size).toBe(this.mem.pageSize);
    if (++this.allocs === this.failAt) throw new KhoError("ENOMEM", "injected allocation failure");
    const pa = this.alloc.alloc(0);
    this.calls.push(["alloc", pa]);
    return pa;
  }

  unpreserveFree(pa: number): void {
    this.calls.push(["unpreserveFree", pa]);
    this.alloc.freeBlock(pa, 0);
  }

  restoreFree(pa: number): void {
    this.calls.push(["restoreFree", pa]);
  }

  freed(kind: "unpreserveFree" | "restoreFree"): number[] {
    return this.calls.filter((c) => c[0] === kind).map((c) => c[1]);
  }
}

function machine(bytes = 64 * MiB, pageSize = 4096): PhysMem {
  return new PhysMem(pageSize, [{ start: 0, size: bytes, nid: 0 }]);
}

/** Writes a chain the way a previous kernel left it: page i links to page i+1. */
function writeChain(mem: PhysMem, pages: readonly number[], count: (i: number) => bigint): void {
  for (const [i, pa] of pages.entries()) writeBlockHeader(mem, pa, { next: pages[i + 1] ?? 0, count: count(i) });
}

function pagesFrom(first: number, n: number, pageSize = 4096): number[] {
  return Array.from({ length: n }, (_, i) => first + i * pageSize);
}

/** Follows `next` from the head in memory (bounded) and returns the addresses seen. */
function walk(mem: PhysMem, head: number): number[] {
  const out: number[] = [];
  for (let pa = head; pa !== 0 && out.length <= KHO_MAX_BLOCKS; pa = readBlockHeader(mem, pa).next) out.push(pa);
  return out;
}

function incomingSet(entrySize = LUO_SESSION_SER_SIZE, mem = machine()) {
  const backend = new RecordingBackend(mem);
  const log: string[] = [];
  const set = new KhoBlockSet(backend, entrySize, { log: (l) => log.push(l) });
  return { backend, set, log, mem };
}

function expectKhoError(fn: () => unknown, code: string, message?: RegExp): KhoError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KhoError);
    const err = e as KhoError;
    expect(err.code).toBe(code);
    if (message) expect(err.message).toMatch(message);
    return err;
  }
  throw new Error(`expected ${code}`);
}

describe("block set geometry", () => {
  it("takes the header size from the ABI layout and fits (PAGE_SIZE - header) / entry entries", () => {
    expect(BLOCK_HEADER_SIZE).toBe(kho_block_header_ser.size);
    expect(kho_block_header_ser.size).toBe(16);
    for (const [pageSize, entry, cpb] of [
      [4096, 80, 51],
      [16384, 80, 204],
      [65536, 80, 819],
      [4096, 64, 63],
      [16384, 64, 255],
      [65536, 64, 1023],
      [4096, 32, 127],
      [65536, 32, 2047],
    ] as const) {
      const set = new KhoBlockSet(new RecordingBackend(machine(64 * MiB, pageSize)), entry);
      expect(set.countPerBlock).toBe(cpb);
    }
  });

  it("refuses entries that leave no room in a block", () => {
    expectKhoError(() => new KhoBlockSet(new RecordingBackend(machine()), 4096 - 15), "EINVAL");
    expect(new KhoBlockSet(new RecordingBackend(machine()), 4096 - 16).countPerBlock).toBe(1);
  });
});

describe("block set, outgoing", () => {
  it("checklist 29: 52 sessions take 2 blocks; closing one frees the second block", () => {
    const { backend, set } = incomingSet();
    set.grow(52);
    expect(set.nblocks).toBe(2);
    const [first, second] = set.blocks as [number, number];
    expect(backend.calls).toEqual([
      ["alloc", first],
      ["alloc", second],
    ]);
    set.shrink(51);
    expect(set.nblocks).toBe(1);
    expect(backend.freed("unpreserveFree")).toEqual([second]);
    expect(readBlockHeader(backend.mem, first).next).toBe(0);
    expect(set.headPa).toBe(first);
  });

  it("checklist 30: serialising 52 sessions leaves counts 51 and 1 and links block 1 to block 2", () => {
    const { backend, set } = incomingSet();
    set.grow(52);
    const it = set.iterator();
    const slots = Array.from({ length: 52 }, () => it.reserveEntry());
    const [first, second] = set.blocks as [number, number];
    expect(slots[0]).toBe(first + BLOCK_HEADER_SIZE);
    expect(slots[50]).toBe(first + BLOCK_HEADER_SIZE + 50 * LUO_SESSION_SER_SIZE);
    expect(slots[51]).toBe(second + BLOCK_HEADER_SIZE);
    expect(readBlockHeader(backend.mem, first)).toEqual({ next: second, count: 51n });
    expect(readBlockHeader(backend.mem, second)).toEqual({ next: 0, count: 1n });
    expect(set.headPa).toBe(first);
    // Two blocks hold 102 entries; the 103rd has no slot.
    for (let i = 52; i < 102; i++) expect(it.reserveEntry()).not.toBeNull();
    expect(it.reserveEntry()).toBeNull();
  });

  it("grow only adds what is missing and shrink keeps ceil(count / cpb) blocks", () => {
    const { set } = incomingSet();
    set.grow(0);
    expect(set.nblocks).toBe(0);
    expect(set.headPa).toBe(0);
    set.grow(51);
    expect(set.nblocks).toBe(1);
    set.grow(10);
    expect(set.nblocks).toBe(1);
    set.grow(103);
    expect(set.nblocks).toBe(3);
    set.shrink(102);
    expect(set.nblocks).toBe(2);
    set.shrink(0);
    expect(set.nblocks).toBe(0);
    expect(set.headPa).toBe(0);
  });

  it("a failed grow frees exactly the blocks it added, newest first, and unlinks them", () => {
    const { backend, set } = incomingSet();
    set.grow(1);
    const [kept] = set.blocks as [number];
    backend.failAt = 4; // the third block of the next grow
    expectKhoError(() => set.grow(51 * 4), "ENOMEM");
    const added = backend.calls
      .filter((c) => c[0] === "alloc")
      .map((c) => c[1])
      .slice(1);
    expect(added).toHaveLength(2);
    expect(backend.freed("unpreserveFree")).toEqual([...added].reverse());
    expect(set.blocks).toEqual([kept]);
    expect(readBlockHeader(backend.mem, kept).next).toBe(0);
    expect(backend.alloc.allocatedBlocks).toBe(1);
  });

  it("the 10001st block of a grow is ENOSPC; that block and every one the call added are freed", () => {
    const { backend, set } = incomingSet(4096 - 16);
    expectKhoError(() => set.grow(KHO_MAX_BLOCKS + 1), "ENOSPC");
    const allocated = backend.calls.filter((c) => c[0] === "alloc").map((c) => c[1]);
    expect(allocated).toHaveLength(KHO_MAX_BLOCKS + 1);
    const freed = backend.freed("unpreserveFree");
    expect(freed[0]).toBe(allocated[KHO_MAX_BLOCKS]);
    expect(freed.slice(1)).toEqual(allocated.slice(0, KHO_MAX_BLOCKS).reverse());
    expect(set.nblocks).toBe(0);
    expect(set.headPa).toBe(0);
    expect(backend.alloc.allocatedBlocks).toBe(0);
  });

  it("reserve fills blocks front to back, prev steps back across blocks without lowering counts", () => {
    const { backend, set } = incomingSet(1000); // 4 per block
    set.grow(6);
    const [a, b] = set.blocks as [number, number];
    const it = set.iterator();
    const slot = (blk: number, i: number) => blk + BLOCK_HEADER_SIZE + i * 1000;
    for (let i = 0; i < 5; i++) it.reserveEntry();
    expect(readBlockHeader(backend.mem, a).count).toBe(4n);
    expect(readBlockHeader(backend.mem, b).count).toBe(1n);
    expect(it.prev()).toBe(slot(b, 0));
    expect(it.prev()).toBe(slot(a, 3));
    expect(it.prev()).toBe(slot(a, 2));
    expect(readBlockHeader(backend.mem, b).count).toBe(1n);
    expect(it.reserveEntry()).toBe(slot(a, 2));
    expect(readBlockHeader(backend.mem, a).count).toBe(3n);
    expect(set.iterator().prev()).toBeNull();
    const empty = new KhoBlockSet(backend, 1000).iterator();
    expect([empty.reserveEntry(), empty.readEntry(), empty.prev()]).toEqual([null, null, null]);
  });

  it("an iterator whose block was freed is refused instead of touching freed memory", () => {
    const { set } = incomingSet(1000);
    set.grow(8);
    const it = set.iterator();
    for (let i = 0; i < 6; i++) it.reserveEntry();
    set.shrink(4);
    expectKhoError(() => it.reserveEntry(), "EINVAL", /freed/);
  });

  it("clear zeroes counts and entries and keeps the links", () => {
    const { backend, set, mem } = incomingSet(1000);
    set.grow(8);
    const it = set.iterator();
    for (let i = 0; i < 6; i++) mem.writeU64(it.reserveEntry()!, 0xabcdn);
    set.clear();
    const [a, b] = set.blocks as [number, number];
    expect(readBlockHeader(backend.mem, a)).toEqual({ next: b, count: 0n });
    expect(readBlockHeader(backend.mem, b)).toEqual({ next: 0, count: 0n });
    expect(mem.read(a + BLOCK_HEADER_SIZE, 4096 - BLOCK_HEADER_SIZE).every((x) => x === 0)).toBe(true);
  });

  it("destroy frees every block in chain order", () => {
    const { backend, set } = incomingSet();
    set.grow(120);
    const blocks = [...set.blocks];
    set.destroy();
    expect(backend.freed("unpreserveFree")).toEqual(blocks);
    expect(set.nblocks).toBe(0);
    expect(set.headPa).toBe(0);
  });

  it("property: grow/shrink/reserve keep nblocks = ceil(count / cpb) and the chain in memory", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("count" as const), n: fc.nat(40) }),
      fc.record({ kind: fc.constant("fill" as const), n: fc.nat(40) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const { backend, set, mem } = incomingSet(1000); // cpb 4
        const cpb = set.countPerBlock;
        let count = 0;
        for (const o of ops) {
          if (o.kind === "count") {
            if (o.n > count) set.grow(o.n);
            else set.shrink(o.n);
            count = o.n;
          } else {
            set.clear();
            const it = set.iterator();
            const filled = Math.min(o.n, set.nblocks * cpb);
            for (let i = 0; i < filled; i++) expect(it.reserveEntry()).not.toBeNull();
            for (const [i, pa] of set.blocks.entries())
              expect(readBlockHeader(mem, pa).count).toBe(BigInt(Math.max(0, Math.min(cpb, filled - i * cpb))));
          }
          expect(set.nblocks).toBe(Math.ceil(count / cpb));
          expect(walk(mem, set.headPa)).toEqual(set.blocks);
          expect(set.headPa).toBe(set.blocks[0] ?? 0);
          expect(backend.alloc.liveBlocks().map(([pa]) => pa)).toEqual([...set.blocks].sort((x, y) => x - y));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("block set, incoming", () => {
  it("restores a valid chain and reads back every entry in order", () => {
    const mem = machine();
    const out = new KhoBlockSet(new RecordingBackend(mem), 64);
    out.grow(130);
    const it = out.iterator();
    for (let i = 0; i < 130; i++) mem.writeU64(it.reserveEntry()!, BigInt(1000 + i));

    const next = new RecordingBackend(mem);
    const set = new KhoBlockSet(next, 64);
    set.restore(out.headPa);
    expect(set.incoming).toBe(true);
    expect(set.blocks).toEqual(out.blocks);
    const read: bigint[] = [];
    const r = set.iterator();
    for (let pa = r.readEntry(); pa !== null; pa = r.readEntry()) read.push(mem.readU64(pa));
    expect(read).toEqual(Array.from({ length: 130 }, (_, i) => BigInt(1000 + i)));
    expect(next.calls).toEqual([]);
    set.destroy();
    expect(next.freed("restoreFree")).toEqual(out.blocks);
  });

  it("restore of head 0 is an empty incoming set; an incoming set cannot grow", () => {
    const { set, log } = incomingSet();
    set.restore(0);
    expect(set.incoming).toBe(true);
    expect(set.isEmpty).toBe(true);
    expectKhoError(() => set.grow(1), "EINVAL");
    expect(log).toEqual(["WARNING: at kernel/liveupdate/kho_block.c kho_block_set_grow"]);
  });

  it("shrink of an incoming set restores and frees the tail", () => {
    const { backend, set, mem } = incomingSet();
    const pages = pagesFrom(0x10000, 3);
    writeChain(mem, pages, () => 51n);
    set.restore(pages[0]!);
    set.shrink(60);
    expect(backend.freed("restoreFree")).toEqual([pages[2]]);
    expect(readBlockHeader(mem, pages[1]!).next).toBe(0);
  });

  it("checklist 26: a session chain with a cycle is EINVAL and no page is freed", () => {
    for (const loopTo of [0, 1, 4]) {
      const { backend, set, log, mem } = incomingSet();
      const pages = pagesFrom(0x10000, 5);
      writeChain(mem, pages, () => 51n);
      writeBlockHeader(mem, pages[4]!, { next: pages[loopTo]!, count: 51n });
      expectKhoError(() => set.restore(pages[0]!), "EINVAL", /Block set is corrupted/);
      expect(log).toEqual(["Block set is corrupted"]);
      expect(backend.calls).toEqual([]);
      expect(set.headPa).toBe(0);
      expect(set.nblocks).toBe(0);
    }
    const { backend, set, mem } = incomingSet();
    writeBlockHeader(mem, 0x10000, { next: 0x10000, count: 1n });
    expectKhoError(() => set.restore(0x10000), "EINVAL");
    expect(backend.calls).toEqual([]);
  });

  it("checklist 27: count 0 or count > cpb is EINVAL and every page of the chain is restored and freed", () => {
    for (const [bad, at] of [
      [0n, 2],
      [52n, 0],
      [2n ** 64n - 1n, 4],
    ] as const) {
      const { backend, set, log, mem } = incomingSet();
      const pages = pagesFrom(0x10000, 5);
      writeChain(mem, pages, (i) => (i === at ? bad : 51n));
      expectKhoError(() => set.restore(pages[0]!), "EINVAL");
      expect(log).toEqual([`Block contains invalid entry count: ${bad}`]);
      // Adopted blocks go first (destroy), then the failing block to the end.
      expect(backend.calls).toEqual(pages.map((pa) => ["restoreFree", pa]));
      expect(set.nblocks).toBe(0);
      expect(set.headPa).toBe(0);
    }
  });

  it("checklist 28: a 10001-block chain is ENOSPC, a 20001-block chain fails the cycle check", () => {
    const n = 2 * KHO_MAX_BLOCKS + 1;
    const mem = machine(128 * MiB);
    const pages = pagesFrom(0x10000, n);
    writeChain(mem, pages, () => 1n);

    // 20001 blocks: more rounds than the bound allows, reported like a cycle.
    let t = incomingSet(LUO_SESSION_SER_SIZE, mem);
    expectKhoError(() => t.set.restore(pages[0]!), "EINVAL");
    expect(t.log).toEqual(["Block set is corrupted"]);
    expect(t.backend.calls).toEqual([]);

    // 20000 blocks pass the cycle check and then hit the block limit.
    writeBlockHeader(mem, pages[n - 2]!, { next: 0, count: 1n });
    t = incomingSet(LUO_SESSION_SER_SIZE, mem);
    expectKhoError(() => t.set.restore(pages[0]!), "ENOSPC");
    expect(t.backend.freed("restoreFree")).toEqual(pages.slice(0, n - 1));

    // 10001 blocks: the 10001st cannot be adopted; all 10001 are freed.
    writeBlockHeader(mem, pages[KHO_MAX_BLOCKS]!, { next: 0, count: 1n });
    t = incomingSet(LUO_SESSION_SER_SIZE, mem);
    expectKhoError(() => t.set.restore(pages[0]!), "ENOSPC");
    expect(t.backend.freed("restoreFree")).toEqual(pages.slice(0, KHO_MAX_BLOCKS + 1));
    expect(t.log).toEqual([]);

    // 10000 blocks are fine.
    writeBlockHeader(mem, pages[KHO_MAX_BLOCKS - 1]!, { next: 0, count: 1n });
    t = incomingSet(LUO_SESSION_SER_SIZE, mem);
    t.set.restore(pages[0]!);
    expect(t.set.nblocks).toBe(KHO_MAX_BLOCKS);
  });
});
