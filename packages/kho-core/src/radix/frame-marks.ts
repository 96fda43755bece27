/** Frames past the first that the bitmap may cover: 8 MiB of bitmap at most, whatever a tree holds. */
const MAX_SPAN_FRAMES = 2 ** 26;

/**
 * The page frames one traversal of a radix tree has reached, to refuse a
 * loop or a shared node. A tree's node pages come from one allocator, in
 * this simulator mostly in a run of frames from the root's up: those are
 * bits of a bitmap that grows with the highest frame seen, up to
 * MAX_SPAN_FRAMES past the first. A frame below the first or beyond the
 * span (a tree read from a handover may point anywhere in RAM) goes to a
 * Set. A sparse tree has a node page per block; a bit per frame costs a
 * fraction of a Set entry's hashing and memory.
 */
export class FrameMarks {
  private bits = new Uint32Array(64);
  private readonly far = new Set<number>();

  constructor(private readonly first: number) {
    this.mark(first);
  }

  /** Marks frame `pfn` (a non-negative integer); false when it was marked already. */
  mark(pfn: number): boolean {
    const d = pfn - this.first;
    if (d >= 0 && d < MAX_SPAN_FRAMES) {
      const w = d >>> 5;
      if (w >= this.bits.length) this.grow(w);
      const m = 1 << (d & 31);
      if ((this.bits[w]! & m) !== 0) return false;
      this.bits[w]! |= m;
      return true;
    }
    if (this.far.has(pfn)) return false;
    this.far.add(pfn);
    return true;
  }

  /** Doubles the bitmap until word w fits (never past the span). */
  private grow(w: number): void {
    let n = this.bits.length * 2;
    while (n <= w) n *= 2;
    const bits = new Uint32Array(Math.min(n, MAX_SPAN_FRAMES / 32));
    bits.set(this.bits);
    this.bits = bits;
  }
}
