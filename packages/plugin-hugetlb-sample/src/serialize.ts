import {
  type BlockBackend,
  type Errno,
  type Folio,
  hex,
  isKhoError,
  KhoBlockSet,
  KhoError,
  type LogSink,
} from "@khosim/kho-core";
import type { PageAllocator, PhysMem } from "@khosim/kho-core/mem";
import {
  HUGETLB_SAMPLE_FOLIO_FLAGS,
  HUGETLB_SAMPLE_MAX_HSTATES,
  HUGETLB_SAMPLE_V1_COMPATIBLE,
  hugetlb_sample_folio_ser,
  type hugetlb_sample_hstate_ser,
  hugetlb_sample_ser,
} from "./abi/index.js";
import { type HugeFolio, hugePageSizes } from "./pool.js";

/** The outgoing KHO calls the descriptor needs (KhoOut fits). */
export interface KhoOutCalls {
  preserveFolio(folio: Folio): void;
  unpreserveFolio(folio: Folio): void;
  allocPreserve(size: number): number;
  unpreserveFree(pa: number): void;
}

/** The incoming KHO calls the descriptor needs (KhoIn fits). */
export interface KhoInCalls {
  restoreFolio(pa: number): Folio | null;
  restoreFree(pa: number): void;
}

type HstateSer = ReturnType<typeof hugetlb_sample_hstate_ser.decode>;
const EMPTY_HSTATE: HstateSer = { order: 0, reserved: 0, nr_folios: 0n };
const ENTRY_SIZE = hugetlb_sample_folio_ser.size;

/** What prepare did, so abort can undo exactly that. */
export interface Serialized {
  readonly folios: readonly HugeFolio[];
  readonly blocks: KhoBlockSet;
}

/**
 * Writes the descriptor for `folios` into the blob page at `serPa`: every
 * folio preserved as one radix key of its order, a kho_block chain of
 * entries, the header last. All or nothing: on any failure what this call
 * preserved is unpreserved and the chain freed, and the blob is untouched.
 */
export function serialize(
  mem: PhysMem,
  kho: KhoOutCalls,
  serPa: number,
  folios: readonly HugeFolio[],
  log: LogSink,
): Serialized {
  const backend: BlockBackend = {
    mem,
    allocPreserve: (size) => kho.allocPreserve(size),
    unpreserveFree: (pa) => kho.unpreserveFree(pa),
    // An outgoing set never restores; reaching this is a bug in KhoBlockSet's use.
    restoreFree: (pa) => {
      throw new KhoError("EINVAL", "restore of an outgoing block", hex(pa));
    },
  };
  const blocks = new KhoBlockSet(backend, ENTRY_SIZE, { log });
  const preserved: HugeFolio[] = [];
  try {
    for (const f of folios) {
      kho.preserveFolio({ pa: f.pa, order: f.order });
      preserved.push(f);
    }
    blocks.grow(folios.length);
    const it = blocks.iterator();
    // Every field was checked when the pool made the folio (owner a u64, node and order from the
    // allocator, flags from the pool's constants), so the layout writes the entries without validating
    // each one again: that schema check was a third of writing 131 072 entries.
    const entry = new Uint8Array(ENTRY_SIZE);
    const view = new DataView(entry.buffer);
    for (const f of folios) {
      const slot = it.reserveEntry()!; // grow made room for every entry
      const value = { pfn: BigInt(f.pa / mem.pageSize), owner: f.owner, node: f.node, order: f.order, flags: f.flags };
      hugetlb_sample_folio_ser.write(view, 0, value, hugetlb_sample_folio_ser.name);
      mem.write(slot, entry);
    }
    hugetlb_sample_ser.writeAt(mem, serPa, header(mem.pageSize, folios, blocks.headPa));
  } catch (e) {
    if (isKhoError(e)) {
      blocks.destroy();
      for (const f of preserved) kho.unpreserveFolio({ pa: f.pa, order: f.order });
    }
    throw e;
  }
  return { folios, blocks };
}

function header(pageSize: number, folios: readonly HugeFolio[], entries: number) {
  const hstates = hugePageSizes(pageSize).map(
    ({ order }): HstateSer => ({
      order,
      reserved: 0,
      nr_folios: BigInt(folios.filter((f) => f.order === order).length),
    }),
  );
  let totalPages = 0n;
  for (const f of folios) totalPages += 1n << BigInt(f.order);
  return {
    compatible: HUGETLB_SAMPLE_V1_COMPATIBLE,
    total_pages: totalPages,
    entries: BigInt(entries),
    nr_hstates: hstates.length,
    reserved: 0,
    hstates: [...hstates, ...Array<HstateSer>(HUGETLB_SAMPLE_MAX_HSTATES - hstates.length).fill(EMPTY_HSTATE)],
  };
}

/** abort: the chain freed, every folio unpreserved, the blob zeroed as init left it. */
export function unserialize(mem: PhysMem, kho: KhoOutCalls, serPa: number, done: Serialized): void {
  done.blocks.destroy();
  for (const f of done.folios) kho.unpreserveFolio({ pa: f.pa, order: f.order });
  mem.zero(serPa, hugetlb_sample_ser.size);
}

/** The incoming side's view of one kernel: memory, allocator, KHO, log. */
export interface IncomingEnv {
  readonly mem: PhysMem;
  readonly alloc: PageAllocator;
  readonly khoIn: KhoInCalls;
  readonly log: LogSink;
}

/** "N pages (B bytes)": what a refused or unreadable descriptor leaves reserved. */
export function describePages(pages: bigint, pageSize: number): string {
  return `${pages} pages (${hex(pages * BigInt(pageSize))} bytes)`;
}

function fail(code: Errno, message: string, where: string, stranded: string): never {
  throw new KhoError(code, `${message}; ${stranded} of huge folios stay reserved and are lost`, where);
}

/**
 * Reads a v1 descriptor, checks every entry before restoring anything, then
 * restores each folio with kho_restore_folio(). Returns the folios, this
 * kernel's memory now. A descriptor that does not hold together is refused
 * whole (KhoError), naming the memory it leaves reserved; nothing is
 * restored then, so nothing is misread. The blob page is freed in every
 * case, the chain unless kho_block's restore keeps it (a cyclic chain).
 */
export function deserialize(env: IncomingEnv, phys: number, size: number): HugeFolio[] {
  try {
    return readDescriptor(env, phys, size);
  } finally {
    // The blob page is read once, whatever it held: it goes back to the allocator either way.
    env.khoIn.restoreFree(phys);
  }
}

function readDescriptor(env: IncomingEnv, phys: number, size: number): HugeFolio[] {
  const { mem } = env;
  const where = hex(phys);
  if (size !== hugetlb_sample_ser.size)
    throw new KhoError(
      "EINVAL",
      `blob-size ${size}, ${HUGETLB_SAMPLE_V1_COMPATIBLE} is ${hugetlb_sample_ser.size} bytes`,
      where,
    );
  const hdr = hugetlb_sample_ser.readAt(mem, phys);
  const stranded = describePages(hdr.total_pages, mem.pageSize);
  const sizes = hugePageSizes(mem.pageSize);
  if (hdr.nr_hstates > HUGETLB_SAMPLE_MAX_HSTATES)
    fail("EINVAL", `nr_hstates ${hdr.nr_hstates} > ${HUGETLB_SAMPLE_MAX_HSTATES}`, where, stranded);
  const want = new Map<number, bigint>();
  hdr.hstates.forEach((h, i) => {
    if (i >= hdr.nr_hstates) {
      if (h.order !== 0 || h.nr_folios !== 0n) fail("EINVAL", `unused hstates[${i}] is not zero`, where, stranded);
      return;
    }
    if (!sizes.some((s) => s.order === h.order) || want.has(h.order))
      fail("EINVAL", `hstates[${i}]: order ${h.order} is not a huge page size of this kernel`, where, stranded);
    want.set(h.order, h.nr_folios);
  });
  const blocks = new KhoBlockSet(
    { mem, allocPreserve: noAlloc, unpreserveFree: noAlloc, restoreFree: (pa) => env.khoIn.restoreFree(pa) },
    ENTRY_SIZE,
    { log: env.log },
  );
  try {
    blocks.restore(Number(hdr.entries));
  } catch (e) {
    if (isKhoError(e)) fail(e.code, `entry chain: ${e.message}`, where, stranded);
    throw e;
  }
  let folios: HugeFolio[];
  try {
    folios = readEntries(mem, blocks, want, hdr.total_pages, where, stranded);
  } finally {
    blocks.destroy();
  }
  restoreAll(env, folios, where);
  return folios;
}

function noAlloc(): never {
  throw new KhoError("EINVAL", "an incoming block set cannot grow or unpreserve");
}

/**
 * Decodes the entry at a slot from a copy of its page, taken once per page
 * (170 entries of a 4 KiB block) instead of one checked read per entry. An
 * entry across a page end is read on its own.
 */
function entryReader(mem: PhysMem): (slot: number) => ReturnType<typeof hugetlb_sample_folio_ser.decode> {
  let pagePa = -1;
  let page: Uint8Array = new Uint8Array(0);
  return (slot) => {
    const pa = slot - (slot % mem.pageSize);
    if (slot + ENTRY_SIZE > pa + mem.pageSize) return hugetlb_sample_folio_ser.readAt(mem, slot);
    if (pa !== pagePa) {
      page = mem.read(pa, mem.pageSize);
      pagePa = pa;
    }
    return hugetlb_sample_folio_ser.decode(page.subarray(slot - pa));
  };
}

/** Every entry decoded and checked against the header and the memory layout; nothing restored yet. */
function readEntries(
  mem: PhysMem,
  blocks: KhoBlockSet,
  want: ReadonlyMap<number, bigint>,
  totalPages: bigint,
  where: string,
  stranded: string,
): HugeFolio[] {
  const folios: HugeFolio[] = [];
  const seen = new Map<number, bigint>();
  let pages = 0n;
  const it = blocks.iterator();
  const entryAt = entryReader(mem);
  for (let slot = it.readEntry(); slot !== null; slot = it.readEntry()) {
    const e = entryAt(slot);
    // Named only when an entry is refused: a hex string per entry is a good part of reading 131 072 of them.
    const bad = (why: string): never =>
      fail("EINVAL", `entry ${folios.length} (pfn ${hex(e.pfn)}): ${why}`, where, stranded);
    if (!want.has(e.order)) bad(`order ${e.order} is not in the header`);
    if (e.flags & ~HUGETLB_SAMPLE_FOLIO_FLAGS) bad(`unknown flags ${hex(e.flags)}`);
    const span = 1n << BigInt(e.order);
    if (e.pfn % span !== 0n) bad(`not aligned to order ${e.order}`);
    if (e.pfn >= BigInt(Number.MAX_SAFE_INTEGER) / BigInt(mem.pageSize)) bad("beyond physical memory");
    const pfn = Number(e.pfn);
    const node = mem.nidOf(pfn);
    if (node !== e.node) bad(`recorded on node ${e.node}, the memory is on node ${node}`);
    seen.set(e.order, (seen.get(e.order) ?? 0n) + 1n);
    pages += span;
    folios.push({ pa: pfn * mem.pageSize, order: e.order, node, owner: e.owner, flags: e.flags });
  }
  for (const [order, n] of want)
    if ((seen.get(order) ?? 0n) !== n)
      fail(
        "EPROTO",
        `the chain lists ${seen.get(order) ?? 0n} order-${order} folios, the header ${n}`,
        where,
        stranded,
      );
  if (pages !== totalPages)
    fail("EPROTO", `the entries cover ${pages} pages, total_pages says ${totalPages}`, where, stranded);
  return folios;
}

/**
 * kho_restore_folio() of every entry. One that is not a preserved block
 * head of the recorded order means the radix tree and the descriptor
 * disagree: the folios restored so far go back to the allocator (not
 * leaked), the rest stay reserved, and the descriptor is refused.
 */
function restoreAll(env: IncomingEnv, folios: readonly HugeFolio[], where: string): void {
  const done: Folio[] = [];
  for (const [i, f] of folios.entries()) {
    const got = env.khoIn.restoreFolio(f.pa);
    if (got?.order === f.order) {
      done.push(got);
      continue;
    }
    if (got) env.alloc.freeBlock(got.pa, got.order);
    for (const d of done) env.alloc.freeBlock(d.pa, d.order);
    let rest = 0n;
    for (const r of folios.slice(i + 1)) rest += 1n << BigInt(r.order);
    const what = got ? `came back with order ${got.order}, the entry says ${f.order}` : "is not a preserved folio";
    fail(
      "ENOENT",
      `folio ${hex(f.pa)} ${what}; ${done.length} restored folios freed`,
      where,
      describePages(rest, env.mem.pageSize),
    );
  }
}
