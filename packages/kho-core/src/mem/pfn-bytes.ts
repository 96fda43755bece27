/** Frames per chunk: a cache line of values. */
const CHUNK = 64;
const NONE = -1;

/**
 * A sparse map from page frame number to a byte value 1..255 (0 reads as
 * absent): the per-page bits of struct page the simulator needs, such as a
 * block's order or a reserve walk's stamp.
 *
 * Why not a `Map`: one of a million entries costs hundreds of nanoseconds
 * per insert (rehashing, an old-space entry each), and a typed array per
 * entry costs a backing store each. Here values live in 64-frame chunks
 * carved from one pool, found through an open-addressing directory of
 * chunk numbers (linear probing, Fibonacci hashing, at most half full):
 * no object per frame, and runs of neighbouring frames, which allocators
 * hand out and walks visit, share a chunk (the last one is remembered).
 * The size follows the frames that ever held a value, not the RAM; a
 * chunk stays when its values are cleared.
 */
export class PfnBytes {
  private dirBits = 4;
  private dirKeys = new Float64Array(1 << 4).fill(NONE);
  private dirOffsets = new Int32Array(1 << 4);
  private chunks = 0;
  private pool = new Uint8Array(CHUNK * 16);
  private lastIndex = NONE;
  private lastOffset = 0;
  private count = 0;

  /** Frames holding a value. */
  get size(): number {
    return this.count;
  }

  /** The directory slot of chunk `index`, or the empty slot where it would go. */
  private slot(index: number): number {
    const lo = index >>> 0;
    const mixed = lo ^ Math.imul((index - lo) / 4294967296, 0x85ebca6b);
    const mask = this.dirKeys.length - 1;
    for (let i = Math.imul(mixed, 0x9e3779b1) >>> (32 - this.dirBits); ; i = (i + 1) & mask) {
      const k = this.dirKeys[i]!;
      if (k === index || k === NONE) return i;
    }
  }

  /** Pool offset of chunk `index`; NONE when it has none and `create` is false. */
  private offsetOf(index: number, create: boolean): number {
    if (index === this.lastIndex) return this.lastOffset;
    let i = this.slot(index);
    if (this.dirKeys[i] !== index) {
      if (!create) return NONE;
      if (2 * (this.chunks + 1) > this.dirKeys.length) {
        this.growDirectory();
        i = this.slot(index);
      }
      if ((this.chunks + 1) * CHUNK > this.pool.length) {
        const pool = new Uint8Array(this.pool.length * 2);
        pool.set(this.pool);
        this.pool = pool;
      }
      this.dirKeys[i] = index;
      this.dirOffsets[i] = this.chunks++ * CHUNK;
    }
    this.lastIndex = index;
    this.lastOffset = this.dirOffsets[i]!;
    return this.lastOffset;
  }

  private growDirectory(): void {
    const keys = this.dirKeys;
    const offsets = this.dirOffsets;
    this.dirBits++;
    this.dirKeys = new Float64Array(1 << this.dirBits).fill(NONE);
    this.dirOffsets = new Int32Array(1 << this.dirBits);
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === NONE) continue;
      const j = this.slot(keys[i]!);
      this.dirKeys[j] = keys[i]!;
      this.dirOffsets[j] = offsets[i]!;
    }
  }

  /** The value of `pfn`, 0 when it has none (or is not a frame number). */
  get(pfn: number): number {
    if (!(pfn >= 0) || Math.floor(pfn) !== pfn) return 0;
    const index = Math.floor(pfn / CHUNK);
    const at = this.offsetOf(index, false);
    return at === NONE ? 0 : this.pool[at + pfn - index * CHUNK]!;
  }

  /** Sets frame `pfn` (a non-negative integer) to `value` (1..255; the caller keeps both in range). */
  set(pfn: number, value: number): void {
    const index = Math.floor(pfn / CHUNK);
    const at = this.offsetOf(index, true) + pfn - index * CHUNK;
    if (this.pool[at] === 0) this.count++;
    this.pool[at] = value;
  }

  /** Clears `pfn`; true when it had a value. */
  delete(pfn: number): boolean {
    if (!(pfn >= 0) || Math.floor(pfn) !== pfn) return false;
    const index = Math.floor(pfn / CHUNK);
    const chunk = this.offsetOf(index, false);
    if (chunk === NONE) return false;
    const at = chunk + pfn - index * CHUNK;
    if (this.pool[at] === 0) return false;
    this.pool[at] = 0;
    this.count--;
    return true;
  }

  clear(): void {
    this.dirBits = 4;
    this.dirKeys = new Float64Array(1 << 4).fill(NONE);
    this.dirOffsets = new Int32Array(1 << 4);
    this.chunks = 0;
    this.pool = new Uint8Array(CHUNK * 16);
    this.lastIndex = NONE;
    this.count = 0;
  }

  /** Every [pfn, value], ascending by pfn. */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.dirKeys.length; i++) {
      const index = this.dirKeys[i]!;
      if (index === NONE) continue;
      const at = this.dirOffsets[i]!;
      for (let j = 0; j < CHUNK; j++) if (this.pool[at + j] !== 0) out.push([index * CHUNK + j, this.pool[at + j]!]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }
}
