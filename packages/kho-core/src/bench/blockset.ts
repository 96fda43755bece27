/**
 * Block set cases: a producer appends 1M u64 entries (growing the set as it
 * goes) and the next kernel restores the chain and reads them back. There
 * is no independent implementation to compare with, so `ref` is null; the
 * check is that every entry comes back, in order.
 */
import type { BlockBackend } from "../block/backend.js";
import { KhoBlockSet } from "../block/set.js";
import { PageAllocator } from "../mem/alloc.js";
import { PhysMem } from "../mem/phys.js";
import { type BenchCase, type BenchContext, type BenchRow, type BenchTimer, benchRow, benchTimer } from "./case.js";

const ENTRY_SIZE = 8;
const GiB = 2 ** 30;

/** Blocks are plain pages of one machine; preserving is KHO's business, not the block set's. */
function backend(): BlockBackend {
  const mem = new PhysMem(4096, [{ start: GiB, size: 4 * GiB, nid: 0 }]);
  const alloc = new PageAllocator(mem);
  return {
    mem,
    allocPreserve: () => alloc.alloc(0),
    unpreserveFree: (pa) => alloc.freeBlock(pa, 0),
    restoreFree: (pa) => alloc.freeBlock(pa, 0),
  };
}

interface BlockSetRun {
  readonly appendNs: number;
  readonly restoreNs: number;
  readonly check: string;
}

function runBlockSet(entries: number, nowNs: BenchTimer): BlockSetRun {
  const b = backend();
  const t0 = nowNs();
  const out = new KhoBlockSet(b, ENTRY_SIZE);
  // The cursor starts on the first block, so there must be one; later blocks are added as it fills them.
  out.grow(1);
  const it = out.iterator();
  for (let i = 0; i < entries; i++) {
    if (i > 0 && i % out.countPerBlock === 0) out.grow(i + 1);
    const slot = it.reserveEntry();
    if (slot === null) throw new Error(`block set refused entry ${i}`);
    b.mem.writeU64(slot, i);
  }
  const t1 = nowNs();
  const incoming = new KhoBlockSet(b, ENTRY_SIZE);
  incoming.restore(out.headPa);
  const rd = incoming.iterator();
  let seen = 0;
  let wrong = -1;
  for (let pa = rd.readEntry(); pa !== null; pa = rd.readEntry()) {
    if (wrong < 0 && b.mem.readU64Number(pa) !== seen) wrong = seen;
    seen++;
  }
  const t2 = nowNs();
  const check =
    seen !== entries ? `restored ${seen} entries of ${entries}` : wrong >= 0 ? `entry ${wrong} differs` : "ok";
  return { appendNs: (t1 - t0) / entries, restoreNs: (t2 - t1) / entries, check };
}

function blockSetRows(ctx: BenchContext): BenchRow[] {
  const entries = ctx.quick ? 20000 : 2 ** 20;
  let append = Infinity;
  let restore = Infinity;
  let check = "ok";
  // A full round takes tens of seconds and gains nothing from warming up: two rounds at most.
  for (let r = 0; r < Math.min(ctx.rounds, 2); r++) {
    const run = runBlockSet(entries, benchTimer(ctx.clock));
    if (run.check !== "ok") check = run.check;
    append = Math.min(append, run.appendNs);
    restore = Math.min(restore, run.restoreNs);
  }
  const n = entries === 2 ** 20 ? "1M" : String(entries);
  return [
    benchRow({ case: `blockset append n=${n}`, unit: "ns/entry", ts: append, ref: null, check }),
    benchRow({ case: `blockset restore n=${n}`, unit: "ns/entry", ts: restore, ref: null, check }),
  ];
}

export const blockSetCases: readonly BenchCase[] = [{ name: "blockset u64 entries", run: blockSetRows }];
