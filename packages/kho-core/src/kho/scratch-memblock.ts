import { KhoError } from "../errors.js";
import type { PhysRange } from "../mem/alloc.js";
import { IntervalSet } from "../mem/intervals.js";
import type { PhysMem } from "../mem/phys.js";
import { hex } from "../units.js";

/** Where an early allocation may land: [start, end) and optionally one node. */
export interface MemblockRange {
  readonly start?: number;
  /** Exclusive upper bound; omitted means anywhere in memory. */
  readonly end?: number;
  /** Only this node (the exact-node form); omitted means any node. */
  readonly nid?: number;
}

/**
 * The boot allocator scratch is carved from on a cold boot, before the
 * page allocator exists. `alloc` returns 0 on failure, as memblock does.
 */
export interface MemblockSource {
  alloc(size: number, align: number, range?: MemblockRange): number;
  free(pa: number, size: number): void;
}

/**
 * A memblock model over simulated RAM: byte-granular reservations and the
 * kernel's default top-down search (highest fitting address of the highest
 * free range first). Page 0 is never handed out, as in memblock, so 0 can
 * mean failure. After boot the caller carries the reservations over to the
 * page allocator (`PageAllocator.reserve`).
 */
export class SimMemblock implements MemblockSource {
  readonly #reserved = new IntervalSet();

  constructor(
    readonly mem: PhysMem,
    reserved: readonly PhysRange[] = [],
  ) {
    for (const r of reserved) this.reserve(r.start, r.size);
  }

  reserve(start: number, size: number): void {
    this.#reserved.add(start, start + size);
  }

  free(pa: number, size: number): void {
    this.#reserved.remove(pa, pa + size);
  }

  /** Reserved byte ranges, ascending. */
  reservations(): PhysRange[] {
    return [...this.#reserved.intervals()].map(([s, e]) => ({ start: s, size: e - s }));
  }

  alloc(size: number, align: number, range: MemblockRange = {}): number {
    if (!Number.isSafeInteger(size) || size < 0) throw new KhoError("EINVAL", `bad memblock size ${size}`);
    if (!Number.isSafeInteger(align) || align < 1 || (align & (align - 1)) !== 0) {
      throw new KhoError("EINVAL", `memblock alignment ${hex(align)} is not a power of two`);
    }
    const lo = Math.max(range.start ?? 0, this.mem.pageSize);
    const hi = Math.max(lo, range.end ?? Number.MAX_SAFE_INTEGER);
    const clamp = (x: number) => Math.min(Math.max(x, lo), hi);
    for (let r = this.mem.ranges.length - 1; r >= 0; r--) {
      const ram = this.mem.ranges[r]!;
      if (range.nid !== undefined && ram.nid !== range.nid) continue;
      const free = this.#freeIn(ram.start, ram.start + ram.size);
      for (let f = free.length - 1; f >= 0; f--) {
        const start = clamp(free[f]![0]);
        const end = clamp(free[f]![1]);
        if (end < size) continue;
        const cand = Math.floor((end - size) / align) * align;
        if (cand >= start) {
          this.reserve(cand, size);
          return cand;
        }
      }
    }
    return 0;
  }

  /** Unreserved pieces of [start, end), ascending. */
  #freeIn(start: number, end: number): [number, number][] {
    const out: [number, number][] = [];
    let at = start;
    for (const [s, e] of this.#reserved.intervalsIn(start, end)) {
      if (s > at) out.push([at, s]);
      at = e;
    }
    if (at < end) out.push([at, end]);
    return out;
  }
}
