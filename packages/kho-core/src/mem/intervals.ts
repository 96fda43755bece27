/**
 * A set of integers stored as sorted, disjoint, non-adjacent half-open
 * intervals [start, end). Used for page frame numbers: free memory, poisoned
 * memory, reservations. Size is proportional to fragmentation, not to the
 * number of pages, so a 1 TiB machine costs a few entries.
 */
export class IntervalSet {
  private starts: number[] = [];
  private ends: number[] = [];

  get intervalCount(): number {
    return this.starts.length;
  }

  /** Number of integers in the set. */
  get size(): number {
    let n = 0;
    for (let i = 0; i < this.starts.length; i++) n += this.ends[i]! - this.starts[i]!;
    return n;
  }

  /** Index of the first interval whose end is > x. */
  private firstEndAbove(x: number): number {
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ends[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  has(x: number): boolean {
    const i = this.firstEndAbove(x);
    return i < this.starts.length && this.starts[i]! <= x;
  }

  /** The first member in [start, end), or undefined. */
  firstIn(start: number, end: number): number | undefined {
    const i = this.firstEndAbove(start);
    if (i >= this.starts.length) return undefined;
    const s = Math.max(this.starts[i]!, start);
    return s < end ? s : undefined;
  }

  /**
   * The lowest multiple of `align` in [start, end) that begins a run of
   * `align` members ending by `end`, or undefined: where the buddy
   * allocator's lowest-address-first search lands (no iterator, it runs
   * once per allocated page).
   */
  firstAligned(start: number, end: number, align: number): number | undefined {
    for (let i = this.firstEndAbove(start); i < this.starts.length && this.starts[i]! < end; i++) {
      const s = Math.max(start, this.starts[i]!);
      const head = Math.ceil(s / align) * align;
      if (head + align <= Math.min(end, this.ends[i]!)) return head;
    }
    return undefined;
  }

  /** True when every integer of [start, end) is in the set. */
  covers(start: number, end: number): boolean {
    if (end <= start) return true;
    const i = this.firstEndAbove(start);
    return i < this.starts.length && this.starts[i]! <= start && this.ends[i]! >= end;
  }

  add(start: number, end: number): void {
    if (end <= start) return;
    // Intervals touching or overlapping [start, end) merge into one.
    let i = this.firstEndAbove(start - 1);
    if (i > 0 && this.ends[i - 1] === start) i--;
    // Extending one interval, or appending past the last (ascending adds: a walk's blocks), needs no splice.
    if (i === this.starts.length) {
      this.starts.push(start);
      this.ends.push(end);
      return;
    }
    if (this.starts[i]! <= end && (i + 1 === this.starts.length || this.starts[i + 1]! > end)) {
      this.starts[i] = Math.min(this.starts[i]!, start);
      this.ends[i] = Math.max(this.ends[i]!, end);
      return;
    }
    let j = i;
    let s = start;
    let e = end;
    while (j < this.starts.length && this.starts[j]! <= end) {
      s = Math.min(s, this.starts[j]!);
      e = Math.max(e, this.ends[j]!);
      j++;
    }
    this.starts.splice(i, j - i, s);
    this.ends.splice(i, j - i, e);
  }

  remove(start: number, end: number): void {
    if (end <= start) return;
    const i = this.firstEndAbove(start);
    // Most removals touch nothing (unpoisoning owned memory) or one interval (a page allocated or
    // reserved): those are done in place, without building the general splice's arrays.
    if (i >= this.starts.length || this.starts[i]! >= end) return;
    const s = this.starts[i]!;
    const e = this.ends[i]!;
    if (e >= end || i + 1 === this.starts.length || this.starts[i + 1]! >= end) {
      if (s < start && e > end) {
        this.ends[i] = start;
        this.starts.splice(i + 1, 0, end);
        this.ends.splice(i + 1, 0, e);
      } else if (s < start) this.ends[i] = start;
      else if (e > end) this.starts[i] = end;
      else {
        this.starts.splice(i, 1);
        this.ends.splice(i, 1);
      }
      return;
    }
    // [start, end) spans several intervals: keep the part of the first before it and of the last after it.
    let j = i;
    while (j < this.starts.length && this.starts[j]! < end) j++;
    const lastEnd = this.ends[j - 1]!;
    const keepS: number[] = [];
    const keepE: number[] = [];
    if (s < start) {
      keepS.push(s);
      keepE.push(start);
    }
    if (lastEnd > end) {
      keepS.push(end);
      keepE.push(lastEnd);
    }
    this.starts.splice(i, j - i, ...keepS);
    this.ends.splice(i, j - i, ...keepE);
  }

  clear(): void {
    this.starts = [];
    this.ends = [];
  }

  *intervals(): IterableIterator<[number, number]> {
    for (let i = 0; i < this.starts.length; i++) yield [this.starts[i]!, this.ends[i]!];
  }

  /** Intersection of this set with [start, end), as intervals. */
  *intervalsIn(start: number, end: number): IterableIterator<[number, number]> {
    for (let i = this.firstEndAbove(start); i < this.starts.length && this.starts[i]! < end; i++)
      yield [Math.max(start, this.starts[i]!), Math.min(end, this.ends[i]!)];
  }

  clone(): IntervalSet {
    const c = new IntervalSet();
    c.starts = [...this.starts];
    c.ends = [...this.ends];
    return c;
  }
}
