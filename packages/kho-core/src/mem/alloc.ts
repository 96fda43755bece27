import { KhoError } from "../errors.js";
import { hex } from "../units.js";
import { IntervalSet } from "./intervals.js";
import { PfnBytes } from "./pfn-bytes.js";
import type { PhysMem } from "./phys.js";

/** A physical range [start, start + size) in bytes. */
export interface PhysRange {
  readonly start: number;
  readonly size: number;
}

export interface AllocOptions {
  /** Prefer (and require) memory on this NUMA node. */
  readonly nid?: number;
}

/**
 * The page allocator of one simulated kernel: power-of-two blocks of pages,
 * naturally aligned as the buddy allocator hands them out, lowest address
 * first so runs are deterministic. Free memory is kept as page-frame
 * intervals, so a machine of any size starts with one entry per RAM range.
 *
 * `restrictTo` confines allocation to given ranges: the next kernel may only
 * use scratch areas until KHO's reserve walk has run. Allocated pages are
 * zeroed and taken out of poison (the kernel now owns them).
 */
export class PageAllocator {
  private readonly free = new IntervalSet();
  private allowed: PhysRange[] | null = null;
  /** Blocks handed out and not freed: order + 1 per head pfn. */
  private readonly live = new PfnBytes();

  constructor(readonly mem: PhysMem) {
    for (const r of mem.ranges) this.free.add(r.start / mem.pageSize, (r.start + r.size) / mem.pageSize);
  }

  get freePages(): number {
    return this.free.size;
  }

  get allocatedBlocks(): number {
    return this.live.size;
  }

  /** Order of a block this allocator handed out, or undefined. */
  orderOf(pa: number): number | undefined {
    const v = this.live.get(pa / this.mem.pageSize);
    return v === 0 ? undefined : v - 1;
  }

  /** Limits allocation to `ranges` (null lifts the limit). */
  restrictTo(ranges: readonly PhysRange[] | null): void {
    this.allowed = ranges === null ? null : ranges.map((r) => ({ ...r }));
  }

  get restricted(): boolean {
    return this.allowed !== null;
  }

  /** Takes a byte range out of free memory (memblock_reserve). Overlaps are fine. */
  reserve(start: number, size: number): void {
    const ps = this.mem.pageSize;
    this.free.remove(Math.floor(start / ps), Math.ceil((start + size) / ps));
  }

  /** Gives a reserved byte range back to free memory (free_reserved_area). */
  release(start: number, size: number): void {
    const ps = this.mem.pageSize;
    this.free.add(Math.ceil(start / ps), Math.floor((start + size) / ps));
  }

  isFree(pa: number): boolean {
    return this.free.has(Math.floor(pa / this.mem.pageSize));
  }

  /** Allocates 2^order zeroed pages; ENOMEM when no aligned block fits. */
  alloc(order: number, opts: AllocOptions = {}): number {
    const count = 2 ** order;
    const ps = this.mem.pageSize;
    for (const r of this.mem.ranges) {
      if (opts.nid !== undefined && r.nid !== opts.nid) continue;
      const ws = r.start / ps;
      const we = (r.start + r.size) / ps;
      if (this.allowed === null) {
        const head = this.free.firstAligned(ws, we, count);
        if (head !== undefined) return this.take(head, count, order);
        continue;
      }
      for (const a of this.allowed) {
        const head = this.free.firstAligned(Math.max(ws, a.start / ps), Math.min(we, (a.start + a.size) / ps), count);
        if (head !== undefined) return this.take(head, count, order);
      }
    }
    const where = this.allowed ? " in the allowed (scratch) ranges" : "";
    throw new KhoError(
      "ENOMEM",
      `no free block of order ${order}${where}${opts.nid === undefined ? "" : ` on node ${opts.nid}`}`,
    );
  }

  private take(pfn: number, count: number, order: number): number {
    this.free.remove(pfn, pfn + count);
    this.live.set(pfn, order + 1);
    this.mem.unpoison(pfn, count);
    const pa = pfn * this.mem.pageSize;
    this.mem.zero(pa, count * this.mem.pageSize);
    return pa;
  }

  /** Frees a block this allocator handed out with the same order. */
  freeBlock(pa: number, order: number): void {
    const pfn = pa / this.mem.pageSize;
    const had = this.orderOf(pa);
    if (had !== order)
      throw new KhoError(
        "EINVAL",
        `free of ${hex(pa)} order ${order}: ${had === undefined ? "not allocated" : `allocated with order ${had}`}`,
        hex(pa),
      );
    this.live.delete(pfn);
    this.free.add(pfn, pfn + 2 ** order);
  }

  /**
   * Hands a block the allocator did not allocate itself to the running
   * kernel as allocated (KHO restore adopts preserved pages this way).
   */
  adopt(pa: number, order: number): void {
    const pfn = pa / this.mem.pageSize;
    this.free.remove(pfn, pfn + 2 ** order);
    this.live.set(pfn, order + 1);
  }

  /** Every allocated block as [pa, order], ascending. */
  liveBlocks(): [number, number][] {
    return Array.from(this.live.entries(), ([pfn, o]) => [pfn * this.mem.pageSize, o - 1]);
  }
}
