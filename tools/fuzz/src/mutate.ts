/**
 * Structured mutations of a valid input, driven by a seeded generator so a
 * campaign can regenerate any input from (seed, index): flip a bit, set a
 * byte, truncate, splice in a piece of another input, duplicate a run, swap
 * or overwrite aligned 32/64-bit words with pointer-like values (swap
 * pointers), and repeat the input's own FDT node tags to deepen or widen.
 */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** xorshift32: fast, and the same sequence on every machine. */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

/** No mutation makes an input longer than this: stacked deepen and widen would grow without end. */
export const MAX_INPUT = 1 << 20;

export const MUTATIONS = [
  "flip",
  "byte",
  "truncate",
  "splice",
  "duplicate",
  "word",
  "swap",
  "deepen",
  "widen",
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** Values a hostile or broken field is likely to hold. */
const INTERESTING_U32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fffffff, 0x80000000, 0xfffffff4, 0xfffffffc, 0xffffffff];

const FDT_BEGIN_NODE = Uint8Array.of(0, 0, 0, 1);
const FDT_END_NODE = Uint8Array.of(0, 0, 0, 2);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Offsets of 4-byte-aligned words equal to `tag`. */
function tagsAt(b: Uint8Array, tag: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 4 <= b.length; i += 4)
    if (b[i] === tag[0] && b[i + 1] === tag[1] && b[i + 2] === tag[2] && b[i + 3] === tag[3]) out.push(i);
  return out;
}

/**
 * Repeats the span from a BEGIN_NODE to the END_NODE after it `times` times:
 * nested (deepen: all the begins, then all the ends) or side by side (widen).
 * The header's sizes are left as they were, which is part of the hostility.
 */
function repeatNode(b: Uint8Array, r: Rng, nested: boolean): Uint8Array {
  const begins = tagsAt(b, FDT_BEGIN_NODE);
  const ends = tagsAt(b, FDT_END_NODE);
  if (!begins.length || !ends.length) return b;
  const start = r.pick(begins);
  const end = ends.find((e) => e > start);
  if (end === undefined) return b;
  const head = b.subarray(start, end);
  const room = Math.floor((MAX_INPUT - b.length) / (end + 4 - start));
  const times = Math.min(room, 1 + r.below(r.below(2) ? 64 : 4096));
  if (times < 1) return b;
  if (!nested)
    return concat(b.subarray(0, end + 4), ...Array(times).fill(b.subarray(start, end + 4)), b.subarray(end + 4));
  return concat(b.subarray(0, start), ...Array(times).fill(head), ...Array(times).fill(FDT_END_NODE), b.subarray(end));
}

/** One mutation of `input` (never changed in place); `other` is another valid input to splice from. */
export function mutate(input: Uint8Array, other: Uint8Array, r: Rng, kind: Mutation = r.pick(MUTATIONS)): Uint8Array {
  const b = input.slice();
  const n = b.length;
  if (n === 0) return other.slice(0, r.below(other.length + 1));
  const dv = new DataView(b.buffer);
  switch (kind) {
    case "flip":
      b[r.below(n)]! ^= 1 << r.below(8);
      return b;
    case "byte":
      b[r.below(n)] = r.below(256);
      return b;
    case "truncate":
      return b.slice(0, r.below(n));
    case "splice": {
      const at = r.below(n);
      const from = r.below(other.length);
      const len = r.below(Math.min(64, other.length - from) + 1);
      return concat(b.subarray(0, at), other.subarray(from, from + len), b.subarray(at + (r.below(2) ? len : 0)));
    }
    case "duplicate": {
      const at = r.below(n);
      const len = 1 + r.below(Math.min(256, n - at));
      const times = Math.min(1 + r.below(8), Math.floor((MAX_INPUT - n) / len));
      // An input already past MAX_INPUT (a large seed image) gets no copies: a negative count is no array.
      if (times < 1) return b;
      return concat(b.subarray(0, at + len), ...Array(times).fill(b.subarray(at, at + len)), b.subarray(at + len));
    }
    case "word": {
      if (n < 4) return b;
      const at = r.below(n >> 2) << 2;
      dv.setUint32(at, r.pick(INTERESTING_U32), r.below(2) === 0);
      return b;
    }
    case "swap": {
      // Two aligned u64s trade places (pointers in a struct, a chain's next and prev), or one
      // points at itself, at its neighbour, or at nothing.
      if (n < 16) return b;
      const words = n >> 3;
      const i = r.below(words) << 3;
      const j = r.below(words) << 3;
      const wi = dv.getBigUint64(i, true);
      const wj = dv.getBigUint64(j, true);
      const choice = r.below(3);
      if (choice === 0) {
        dv.setBigUint64(i, wj, true);
        dv.setBigUint64(j, wi, true);
      } else if (choice === 1) dv.setBigUint64(i, wj + BigInt(r.below(2) ? 0 : 8), true);
      else dv.setBigUint64(i, r.below(2) ? 0n : 0xffffffffffffffffn, true);
      return b;
    }
    case "deepen":
      return repeatNode(b, r, true);
    case "widen":
      return repeatNode(b, r, false);
  }
}

/** The input of one execution: a seed input with one to four mutations stacked. */
export function mutant(seeds: readonly Uint8Array[], r: Rng): Uint8Array {
  let b = r.pick(seeds);
  const rounds = 1 + r.below(4);
  for (let i = 0; i < rounds; i++) b = mutate(b, r.pick(seeds), r);
  return b;
}
