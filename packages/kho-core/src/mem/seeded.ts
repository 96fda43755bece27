import { KhoError } from "../errors.js";
import { IntervalSet } from "./intervals.js";

/**
 * Seeded fill: page contents that are a pure function of a 32-bit seed and
 * the page's address. A workload can "write" terabytes of recognisable data
 * without the host holding it, and anyone who knows the seed can recompute
 * any page to check it (see PhysMem.fillSeeded).
 *
 * Each little-endian u32 word is murmur3's 32-bit finaliser applied to a
 * per-page start value plus the word index times the golden-ratio constant:
 * cheap (a page of 4 KiB is 1024 multiplications). The finaliser is a
 * bijection and the inputs of one page are all different, so no two words
 * of a page are equal and a shifted copy never compares equal; pages start
 * from values mixed from seed and frame number, so a misplaced page does
 * not either.
 */
const GOLDEN = 0x9e3779b9;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The start value of page `pfn` under `seed`: both halves of the frame number are mixed in. */
function pageStart(seed: number, pfn: number): number {
  const lo = pfn >>> 0;
  const hi = Math.floor(pfn / 4294967296) >>> 0;
  return fmix32(fmix32(seed ^ lo) ^ Math.imul(hi + 1, GOLDEN));
}

export function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new KhoError("EINVAL", `fill seed ${seed} is not a u32`);
}

/** Words `first`, `first + 1`, ... of page `pfn`'s fill, as many as `words` holds. */
function fillWords(seed: number, pfn: number, first: number, words: Uint32Array): void {
  const start = pageStart(seed, pfn);
  for (let i = 0; i < words.length; i++) words[i] = fmix32((start + Math.imul(first + i, GOLDEN)) >>> 0);
}

/** Writes the seeded contents of page `pfn` into `out` (one page long). */
export function seededPageInto(seed: number, pfn: number, out: Uint8Array): void {
  fillWords(seed, pfn, 0, new Uint32Array(out.buffer, out.byteOffset, out.byteLength >>> 2));
}

/**
 * Writes bytes [off, off + n) of the seeded contents of page `pfn` into
 * `out` from `at`, computing only the words they touch (a small read of a
 * huge fill stays cheap). Straight into `out`: a word array viewed as
 * bytes would make V8 give the small array a backing store of its own,
 * which cost more than the words (a sampled read per folio).
 */
export function seededBytesInto(seed: number, pfn: number, off: number, out: Uint8Array, at: number, n: number): void {
  const start = pageStart(seed, pfn);
  const wordAt = (w: number): number => fmix32((start + Math.imul(w, GOLDEN)) >>> 0);
  const end = off + n;
  let byte = off;
  let o = at;
  // The bytes before the first whole word, the whole words four bytes at a time, then the rest.
  if (byte & 3) for (const w = wordAt(byte >>> 2); byte < end && byte & 3; byte++) out[o++] = w >>> ((byte & 3) * 8);
  for (; byte + 4 <= end; byte += 4, o += 4) {
    const w = wordAt(byte >>> 2);
    out[o] = w;
    out[o + 1] = w >>> 8;
    out[o + 2] = w >>> 16;
    out[o + 3] = w >>> 24;
  }
  if (byte < end) for (const w = wordAt(byte >>> 2); byte < end; byte++) out[o++] = w >>> ((byte & 3) * 8);
}

/** Bytes [off, off + len) of the seeded contents of page `pfn`. */
export function seededBytes(seed: number, pfn: number, off: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  seededBytesInto(seed, pfn, off, out, 0, len);
  return out;
}

/** A run of page frames [start, end) that still holds the seeded fill of `seed`. */
export interface SeededRun {
  readonly start: number;
  readonly end: number;
  readonly seed: number;
}

/**
 * Which page frames hold seeded contents, and with which seed: one
 * interval set per seed (a workload uses a handful), so a fill of 256 GiB
 * is one interval, whatever the page count.
 */
export class SeededRegions {
  private readonly bySeed = new Map<number, IntervalSet>();

  get empty(): boolean {
    return this.bySeed.size === 0;
  }

  /** Frames [start, end) now hold the fill of `seed`; any other seed there is gone. */
  set(start: number, end: number, seed: number): void {
    this.remove(start, end);
    let set = this.bySeed.get(seed);
    if (!set) {
      set = new IntervalSet();
      this.bySeed.set(seed, set);
    }
    set.add(start, end);
  }

  /** Frames [start, end) no longer hold seeded contents (written, zeroed, poisoned). */
  remove(start: number, end: number): void {
    for (const [seed, set] of this.bySeed) {
      set.remove(start, end);
      if (set.intervalCount === 0) this.bySeed.delete(seed);
    }
  }

  /** True when every frame of [start, end) holds the fill of `seed`. */
  covers(start: number, end: number, seed: number): boolean {
    return this.bySeed.get(seed)?.covers(start, end) ?? false;
  }

  seedOf(pfn: number): number | undefined {
    for (const [seed, set] of this.bySeed) if (set.has(pfn)) return seed;
    return undefined;
  }

  /** The seeded runs inside [start, end), ascending. */
  runsIn(start: number, end: number): SeededRun[] {
    const out: SeededRun[] = [];
    for (const [seed, set] of this.bySeed)
      for (const [s, e] of set.intervalsIn(start, end)) out.push({ start: s, end: e, seed });
    return out.sort((a, b) => a.start - b.start);
  }
}
