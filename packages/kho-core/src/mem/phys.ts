import { KhoError } from "../errors.js";
import { hex } from "../units.js";
import { type PageGeometry, type PageSize, pageGeometry } from "./geometry.js";
import { IntervalSet } from "./intervals.js";
import { checkSeed, SeededRegions, type SeededRun, seededBytes, seededBytesInto, seededPageInto } from "./seeded.js";

/** A range of RAM on one NUMA node. `start` and `size` are page aligned. */
export interface RamRange {
  readonly start: number;
  readonly size: number;
  readonly nid: number;
}

/** The 52-bit physical address space the simulator supports (exact in a JS number). */
export const MAX_PHYS_BITS = 52;

/** Host memory for stored pages is taken in slabs of this many bytes (a multiple of every page size). */
const SLAB_BYTES = 2 << 20;

/**
 * Simulated physical memory: RAM ranges with NUMA node ids and sparse page
 * storage. Only pages that were written take host memory; reading a page
 * never written returns zeros. Multi-byte values are little-endian, as the
 * kernel writes them on x86-64 and arm64.
 *
 * A seeded fill (`fillSeeded`) gives a range contents that are a function
 * of a seed and the address (see seeded.ts) without storing them: such a
 * page reads as its fill until it is first written (it is then stored, fill
 * included), zeroed or poisoned (the fill is gone). So a workload can fill
 * hundreds of GiB and check them after a kexec, and the host only pays for
 * the pages that changed.
 *
 * A poisoned page stands for memory the current kernel does not own (after
 * a kexec: everything that was not handed over). Touching it throws
 * EHWPOISON naming the address and `actor`, the code that was running.
 */
export class PhysMem implements PageGeometry {
  readonly pageSize: PageSize;
  readonly pageShift: 12 | 14 | 16;
  readonly maxPageOrder: number;
  readonly pageblockOrder: number;
  readonly ranges: readonly RamRange[];
  /** Who is touching memory now; named in poison errors. */
  actor = "kernel";
  private readonly pages = new Map<number, Uint8Array>();
  /** The slab new pages are carved from, and how much of it is handed out. */
  private slab: ArrayBuffer | null = null;
  private slabUsed = SLAB_BYTES;
  /** Poisoned page frames, and why (newest note first wins). */
  private readonly poisoned = new IntervalSet();
  private poisonNotes: { start: number; end: number; reason: string }[] = [];
  private readonly seeded = new SeededRegions();

  constructor(pageSize: number, ranges: readonly RamRange[]) {
    const g = pageGeometry(pageSize);
    this.pageSize = g.pageSize;
    this.pageShift = g.pageShift;
    this.maxPageOrder = g.maxPageOrder;
    this.pageblockOrder = g.pageblockOrder;
    const sorted = [...ranges].sort((a, b) => a.start - b.start);
    sorted.forEach((r, i) => {
      if (r.size <= 0 || r.start % this.pageSize || r.size % this.pageSize)
        throw new KhoError("EINVAL", `RAM range ${hex(r.start)}+${hex(r.size)} is empty or not page aligned`);
      if (r.start + r.size > 2 ** MAX_PHYS_BITS)
        throw new KhoError("ERANGE", `RAM range ${hex(r.start)}+${hex(r.size)} is beyond 52-bit physical addresses`);
      if (!Number.isInteger(r.nid) || r.nid < 0)
        throw new KhoError("EINVAL", `RAM range ${hex(r.start)} has a bad node id ${r.nid}`);
      const prev = sorted[i - 1];
      if (prev && prev.start + prev.size > r.start)
        throw new KhoError("EINVAL", `RAM ranges overlap at ${hex(r.start)}`);
    });
    this.ranges = sorted;
  }

  get totalBytes(): number {
    return this.ranges.reduce((s, r) => s + r.size, 0);
  }

  /** Pages that hold host memory (written at least once). */
  get populatedPages(): number {
    return this.pages.size;
  }

  /** Node ids that have memory, ascending (the kernel's N_MEMORY). */
  get nodes(): number[] {
    return [...new Set(this.ranges.map((r) => r.nid))].sort((a, b) => a - b);
  }

  private rangeOf(pa: number): RamRange | undefined {
    // Binary search: machines may have many ranges.
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.ranges[mid]!;
      if (pa < r.start) hi = mid - 1;
      else if (pa >= r.start + r.size) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  /** True when `pfn` is RAM (the kernel's pfn_valid for online memory). */
  pfnValid(pfn: number): boolean {
    return this.rangeOf(pfn * this.pageSize) !== undefined;
  }

  /** NUMA node of a page, or -1 for a hole. */
  nidOf(pfn: number): number {
    return this.rangeOf(pfn * this.pageSize)?.nid ?? -1;
  }

  private check(pa: number, len: number): void {
    if (!Number.isSafeInteger(pa) || pa < 0 || !Number.isSafeInteger(len) || len < 0)
      throw new KhoError("EFAULT", `bad physical access ${pa}+${len}`, this.actor);
    if (len === 0) return;
    const r = this.rangeOf(pa);
    if (!r || pa + len > r.start + r.size)
      throw new KhoError("EFAULT", `access ${hex(pa)}+${hex(len)} is not RAM`, this.actor);
    const first = Math.floor(pa / this.pageSize);
    const last = Math.floor((pa + len - 1) / this.pageSize);
    if (this.poisoned.intervalCount) {
      const pfn = this.poisoned.firstIn(first, last + 1);
      if (pfn !== undefined) {
        const at = Math.max(pa, pfn * this.pageSize);
        throw new KhoError(
          "EHWPOISON",
          `${this.actor} touched unowned memory at ${hex(at)}: ${this.poisonReason(pfn)}`,
          hex(at),
        );
      }
    }
  }

  /**
   * The storage of one page, created zeroed on first use. Hot paths (the
   * radix tree) keep these views; they must check poison themselves.
   */
  page(pfn: number): Uint8Array {
    let p = this.pages.get(pfn);
    if (!p) {
      this.check(pfn * this.pageSize, this.pageSize);
      p = this.store(pfn);
    } else if (this.poisoned.intervalCount) this.check(pfn * this.pageSize, 1);
    return p;
  }

  /** Gives page `pfn` host storage: zeros, or its seeded fill (which it then no longer follows). */
  private store(pfn: number): Uint8Array {
    const p = this.freshPage();
    const seed = this.seeded.empty ? undefined : this.seeded.seedOf(pfn);
    if (seed !== undefined) {
      seededPageInto(seed, pfn, p);
      this.seeded.remove(pfn, pfn + 1);
    }
    this.pages.set(pfn, p);
    return p;
  }

  /**
   * A zeroed page of host memory: the next page of a 2 MiB slab. One
   * ArrayBuffer per page made the collector track a backing store per page
   * (a quarter of the time of a sparse radix tree's adds); a view of a slab
   * is a plain object. A fresh slab is zeroed by the host, but the host
   * maps its pages only when they are first touched; it is written once
   * here (as the C reference populates its chunks, MAP_POPULATE), so that
   * a radix walk scanning a 16 or 64 KiB leaf whose tail was never written
   * reads memory instead of taking a fault per host page (the sparse walks
   * at 16 KiB were twice as slow). Slots are never reused: a caller may
   * still hold the view of a page that was since zeroed or poisoned, and
   * it must not alias another page. A slab goes back to the host once none
   * of its views is stored or held.
   */
  private freshPage(): Uint8Array {
    if (this.slab === null || this.slabUsed === SLAB_BYTES) {
      this.slab = new ArrayBuffer(SLAB_BYTES);
      new Uint8Array(this.slab).fill(0);
      this.slabUsed = 0;
    }
    const p = new Uint8Array(this.slab, this.slabUsed, this.pageSize);
    this.slabUsed += this.pageSize;
    return p;
  }

  /** Copies `len` bytes starting at `pa` (may cross pages). */
  read(pa: number, len: number): Uint8Array {
    return this.readInto(pa, new Uint8Array(len));
  }

  /**
   * Copies `out.length` bytes starting at `pa` into `out` and returns it:
   * `read` without a new buffer, for callers that read page after page.
   */
  readInto(pa: number, out: Uint8Array): Uint8Array {
    this.check(pa, out.length);
    this.eachChunk(pa, out.length, (pfn, off, n, at) => {
      const p = this.pages.get(pfn);
      if (p) out.set(p.subarray(off, off + n), at);
      else {
        const seed = this.seeded.empty ? undefined : this.seeded.seedOf(pfn);
        if (seed !== undefined) seededBytesInto(seed, pfn, off, out, at, n);
        else out.fill(0, at, at + n);
      }
    });
    return out;
  }

  write(pa: number, bytes: Uint8Array): void {
    this.check(pa, bytes.length);
    this.eachChunk(pa, bytes.length, (pfn, off, n, at) => {
      const p = this.pages.get(pfn) ?? this.store(pfn);
      p.set(bytes.subarray(at, at + n), off);
    });
  }

  /** Zeroes a range; whole pages stop taking host memory. */
  zero(pa: number, len: number): void {
    this.check(pa, len);
    if (len === 0) return;
    const first = Math.floor(pa / this.pageSize);
    const end = Math.ceil((pa + len) / this.pageSize);
    if (!this.seeded.empty) {
      // A page zeroed in part keeps the rest of its fill: store it first. Whole pages just lose the fill.
      if (pa % this.pageSize && !this.pages.has(first) && this.seeded.seedOf(first) !== undefined) this.store(first);
      const tail = end - 1;
      if ((pa + len) % this.pageSize && !this.pages.has(tail) && this.seeded.seedOf(tail) !== undefined)
        this.store(tail);
      this.seeded.remove(first, end);
    }
    this.eachStored(first, end, (pfn) => this.zeroIn(pfn, pa, len));
  }

  /**
   * Calls `fn` for each stored page of [first, end): by frame for a range
   * smaller than what is stored (one page being allocated), else by the
   * stored pages (a fresh 16 GiB memmap, a poisoned node). `fn` may drop the page.
   */
  private eachStored(first: number, end: number, fn: (pfn: number) => void): void {
    if (end - first > this.pages.size) {
      for (const pfn of [...this.pages.keys()]) if (pfn >= first && pfn < end) fn(pfn);
      return;
    }
    for (let pfn = first; pfn < end; pfn++) if (this.pages.has(pfn)) fn(pfn);
  }

  private zeroIn(pfn: number, pa: number, len: number): void {
    const base = pfn * this.pageSize;
    const off = Math.max(pa, base) - base;
    const stop = Math.min(pa + len, base + this.pageSize) - base;
    if (off === 0 && stop === this.pageSize) this.pages.delete(pfn);
    else this.pages.get(pfn)!.fill(0, off, stop);
  }

  private eachChunk(pa: number, len: number, fn: (pfn: number, off: number, n: number, at: number) => void): void {
    let at = 0;
    while (at < len) {
      const cur = pa + at;
      const pfn = Math.floor(cur / this.pageSize);
      const off = cur - pfn * this.pageSize;
      const n = Math.min(this.pageSize - off, len - at);
      fn(pfn, off, n, at);
      at += n;
    }
  }

  /**
   * The stored, unpoisoned page under an 8-byte access that stays inside it;
   * undefined sends the access down the general checked path. Block
   * headers and LUO entries make hundreds of thousands of such accesses.
   */
  private storedWord(pa: number): Uint8Array | undefined {
    if (!Number.isSafeInteger(pa) || pa < 0) return undefined;
    const pfn = Math.floor(pa / this.pageSize);
    if (pa - pfn * this.pageSize + 8 > this.pageSize) return undefined;
    const p = this.pages.get(pfn);
    if (p && this.poisoned.intervalCount && this.poisoned.firstIn(pfn, pfn + 1) !== undefined) return undefined;
    return p;
  }

  readU8(pa: number): number {
    return this.read(pa, 1)[0]!;
  }

  readU32(pa: number): number {
    const b = this.read(pa, 4);
    return new DataView(b.buffer).getUint32(0, true);
  }

  readU64(pa: number): bigint {
    const p = this.storedWord(pa);
    if (p) return new DataView(p.buffer, p.byteOffset + (pa % this.pageSize), 8).getBigUint64(0, true);
    const b = this.read(pa, 8);
    return new DataView(b.buffer).getBigUint64(0, true);
  }

  /** A u64 that must be an address or count: exact as a number or ERANGE. */
  readU64Number(pa: number): number {
    const v = this.readU64(pa);
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new KhoError("ERANGE", `u64 ${hex(v)} at ${hex(pa)} does not fit 53 bits`, hex(pa));
    return Number(v);
  }

  writeU8(pa: number, v: number): void {
    this.write(pa, Uint8Array.of(v));
  }

  writeU32(pa: number, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.write(pa, b);
  }

  writeU64(pa: number, v: bigint | number): void {
    const p = this.storedWord(pa);
    if (p) {
      new DataView(p.buffer, p.byteOffset + (pa % this.pageSize), 8).setBigUint64(0, BigInt(v), true);
      return;
    }
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    this.write(pa, b);
  }

  /** Poisons `count` pages from `pfn`; their stored contents are dropped. */
  poison(pfn: number, count: number, reason: string): void {
    this.poisoned.add(pfn, pfn + count);
    this.poisonNotes.push({ start: pfn, end: pfn + count, reason });
    this.seeded.remove(pfn, pfn + count);
    this.eachStored(pfn, pfn + count, (p) => this.pages.delete(p));
  }

  /** Gives pages back to the running kernel (it allocated them). */
  unpoison(pfn: number, count = 1): void {
    this.poisoned.remove(pfn, pfn + count);
    if (!this.poisoned.intervalCount) this.poisonNotes = [];
  }

  isPoisoned(pfn: number): boolean {
    return this.poisoned.has(pfn);
  }

  get poisonedPages(): number {
    return this.poisoned.size;
  }

  /** Poisoned page frames as [start, end) runs, ascending: a few entries even on a 1 TiB machine. */
  poisonedRuns(): IterableIterator<[number, number]> {
    return this.poisoned.intervals();
  }

  private poisonReason(pfn: number): string {
    for (let i = this.poisonNotes.length - 1; i >= 0; i--) {
      const n = this.poisonNotes[i]!;
      if (pfn >= n.start && pfn < n.end) return n.reason;
    }
    return "poisoned";
  }

  /**
   * Gives the whole pages of [pa, pa + len) the seeded fill of `seed`
   * (a u32): what they held before, stored or seeded, is replaced. Costs
   * no host memory for the data; the range must be page aligned and owned.
   */
  fillSeeded(pa: number, len: number, seed: number): void {
    checkSeed(seed);
    this.check(pa, len);
    if (pa % this.pageSize || len % this.pageSize)
      throw new KhoError("EINVAL", `seeded fill ${hex(pa)}+${hex(len)} is not page aligned`, hex(pa));
    const first = pa / this.pageSize;
    const end = first + len / this.pageSize;
    this.eachStored(first, end, (pfn) => this.pages.delete(pfn));
    this.seeded.set(first, end, seed);
  }

  /** The seed page `pfn` still follows, or undefined (stored, zero, or never filled). */
  seedOf(pfn: number): number | undefined {
    return this.seeded.seedOf(pfn);
  }

  /** Runs of frames in [startPfn, endPfn) that still hold a seeded fill, ascending. */
  seededRuns(startPfn: number, endPfn: number): SeededRun[] {
    return this.seeded.runsIn(startPfn, endPfn);
  }

  /**
   * The address of every page of [pa, pa + len) whose contents are not
   * the seeded fill of `seed`, ascending. Pages that still follow the seed
   * match by construction; every other page (written since, zeroed, or
   * filled with another seed) is read and compared byte for byte, so the
   * cost is the number of pages that changed, not the size of the range.
   */
  *seededDiffs(pa: number, len: number, seed: number): Generator<number> {
    checkSeed(seed);
    this.check(pa, len);
    const first = Math.floor(pa / this.pageSize);
    const end = Math.ceil((pa + len) / this.pageSize);
    const differs = (pfn: number): boolean => {
      const expect = seededBytes(seed, pfn, 0, this.pageSize);
      const got = this.read(pfn * this.pageSize, this.pageSize);
      for (let i = 0; i < got.length; i++) if (got[i] !== expect[i]) return true;
      return false;
    };
    let at = first;
    const runs = this.seeded.runsIn(first, end).filter((r) => r.seed === seed);
    for (const r of [...runs, { start: end, end }]) {
      for (; at < r.start; at++) if (differs(at)) yield at * this.pageSize;
      at = r.end;
    }
  }

  /** The first address of [pa, pa + len) that does not hold the seeded fill of `seed`, or -1. */
  compareSeeded(pa: number, len: number, seed: number): number {
    // A range that still follows the seed throughout (a folio untouched since its fill) matches by construction.
    if (pa % this.pageSize === 0 && len % this.pageSize === 0 && len > 0) {
      checkSeed(seed);
      this.check(pa, len);
      if (this.seeded.covers(pa / this.pageSize, (pa + len) / this.pageSize, seed)) return -1;
    }
    for (const at of this.seededDiffs(pa, len, seed)) return at;
    return -1;
  }

  /** Page frame numbers that hold data, ascending (for images and digests). */
  populatedPfns(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }
}
