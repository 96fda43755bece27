import { KhoError } from "../errors.js";
import { PageAllocator } from "../mem/alloc.js";
import { PhysMem } from "../mem/phys.js";
import { encodePfnKey, type RadixGeometry, radixGeometry } from "./geometry.js";
import { KhoRadixTree } from "./tree.js";

/**
 * The key streams of the C reference (shared/reference/radix_ref.c), so the
 * same command line gives the same blocks here and there:
 *   seq     block i at i << (pageShift + order)
 *   sparse  block i at i << 30 (one per GiB)
 *   random  a seeded bijection on the aligned blocks of the first TiB
 */
export const KEY_PATTERNS = ["seq", "random", "sparse"] as const;
export type KeyPattern = (typeof KEY_PATTERNS)[number];

export interface KeyStreamSpec {
  readonly pageShift: number;
  readonly pages: number;
  readonly order: number;
  readonly pattern: KeyPattern;
  /** 64-bit seed of the random pattern; 0 means the reference's default. */
  readonly seed: bigint;
}

const RANDOM_SPAN_LOG2 = 40;
const SPARSE_STRIDE_LOG2 = 30;
const MASK64 = (1n << 64n) - 1n;
const DEFAULT_SEED = 0x9e3779b97f4a7c15n;

/** Marsaglia xorshift64 with shifts 13, 7, 17 (the reference's generator). */
function xorshift64(s: bigint): bigint {
  let x = s;
  x ^= (x << 13n) & MASK64;
  x ^= x >> 7n;
  x ^= (x << 17n) & MASK64;
  return x;
}

/** Block i of a stream, as a page frame number: pfnAt(i) for 0 <= i < pages. */
export interface KeyStream {
  readonly spec: KeyStreamSpec;
  /** Whether the keys rise with i (seq, sparse): such a stream can be counted in windows. */
  readonly ascending: boolean;
  pfnAt(i: number): number;
}

/**
 * Builds a stream, refusing what the reference refuses (with its wording):
 * orders past 63 - pageShift, addresses past 64 bits, a random stream larger
 * than its span.
 */
export function keyStream(spec: KeyStreamSpec): KeyStream {
  const p = spec.pageShift;
  if (p !== 12 && p !== 14 && p !== 16) throw new KhoError("EINVAL", "page shift must be 12, 14 or 16", "pageShift");
  const g = radixGeometry(2 ** p);
  const { order, pages } = spec;
  if (!Number.isSafeInteger(pages) || pages < 0) throw new KhoError("EINVAL", `pages ${pages} is not a count`, "pages");
  if (!Number.isInteger(order) || order < 0 || order > g.maxOrder)
    throw new KhoError("EINVAL", "order too large for this page size", "order");
  // Frame numbers: the address shifted right by pageShift, exact below 2^52.
  switch (spec.pattern) {
    case "seq": {
      if (pages > 0 && pages - 1 >= 2 ** (64 - p - order))
        throw new KhoError("ERANGE", "too many pages for the address space", "pages");
      const step = 2 ** order;
      return { spec, ascending: true, pfnAt: (i) => i * step };
    }
    case "sparse": {
      if (p + order > SPARSE_STRIDE_LOG2)
        throw new KhoError("EINVAL", "sparse needs (PAGE_SIZE << order) <= 1 GiB", "order");
      if (pages > 0 && pages - 1 >= 2 ** (64 - SPARSE_STRIDE_LOG2))
        throw new KhoError("ERANGE", "too many pages for the address space", "pages");
      const step = 2 ** (SPARSE_STRIDE_LOG2 - p);
      return { spec, ascending: true, pfnAt: (i) => i * step };
    }
    case "random": {
      if (p + order > RANDOM_SPAN_LOG2)
        throw new KhoError("EINVAL", "random needs (PAGE_SIZE << order) <= 1 TiB", "order");
      // k <= 28 bits: every product below is taken mod 2^k, so the low 32
      // bits of the 64-bit multipliers (Math.imul) give the exact result.
      const k = RANDOM_SPAN_LOG2 - p - order;
      const mask = 2 ** k - 1;
      const h = (k + 1) >>> 1;
      if (pages > mask + 1) throw new KhoError("ERANGE", "random: more pages than aligned slots in 1 TiB", "pages");
      let s = spec.seed === 0n ? DEFAULT_SEED : spec.seed & MASK64;
      s = xorshift64(s);
      const a = Number(s & BigInt(mask));
      s = xorshift64(s);
      const m1 = Number((s | 1n) & 0xffffffffn) | 0;
      s = xorshift64(s);
      const m2 = Number((s | 1n) & 0xffffffffn) | 0;
      const step = 2 ** order;
      return {
        spec,
        ascending: false,
        pfnAt(i) {
          let x = (i + a) & mask;
          x = Math.imul(x, m1) & mask;
          x ^= x >>> h;
          x = Math.imul(x, m2) & mask;
          x ^= x >>> h;
          return x * step;
        },
      };
    }
  }
}

/**
 * The reference's order-sensitive walk digest, mod 2^64 on two 32-bit
 * halves: for each (phys, order), h = (h ^ v) * 0x100000001b3 then
 * h ^= h >> 29, first with v = phys, then with v = order. The halves are
 * kept as int32 so every step is integer arithmetic (Math.imul and shifts).
 */
export class WalkHash {
  private hi = 0xcbf29ce4 | 0;
  private lo = 0x84222325 | 0;

  private mix(vhi: number, vlo: number): void {
    const xhi = this.hi ^ vhi;
    const xlo = this.lo ^ vlo;
    // The prime is 2^40 + 0x1b3: x * 0x1b3 plus x << 40. The carry out of the
    // low word of x * 0x1b3 is taken on 16-bit halves so nothing leaves int32.
    const carry = (((xlo >>> 16) * 0x1b3 + (((xlo & 0xffff) * 0x1b3) >>> 16)) >>> 16) | 0;
    const lo = Math.imul(xlo, 0x1b3);
    const hi = (Math.imul(xhi, 0x1b3) + carry + (xlo << 8)) | 0;
    this.lo = lo ^ ((lo >>> 29) | (hi << 3));
    this.hi = hi ^ (hi >>> 29);
  }

  /** Adds one walked block; `phys` is any exact integer below 2^64. */
  add(phys: number, order: number): void {
    // ToInt32 (| 0) of an exact integer keeps its low 32 bits; of phys / 2^32 it keeps the high word.
    this.mix((phys / 4294967296) | 0, phys | 0);
    this.mix(0, order | 0);
  }

  /** `0x` and 16 lowercase hex digits, as the reference prints it. */
  toString(): string {
    return `0x${(this.hi >>> 0).toString(16).padStart(8, "0")}${(this.lo >>> 0).toString(16).padStart(8, "0")}`;
  }
}

/**
 * Bytes of node pages a count holds at once. A sparse stream has a leaf for
 * every block or two (4 GiB of 4 KiB leaves for the default 2^20 blocks,
 * 8 GiB of 16 KiB ones): an ascending stream is counted in windows of this
 * many bytes of node pages. A random stream stays within its 1 TiB span, whose tree at
 * most 33 MiB of node pages covers whole.
 */
export const COUNT_WINDOW_BYTES = 64 << 20;

export interface CountSpec extends KeyStreamSpec {
  /** Delete blocks 0, d, 2d, ... after adding all (0: no deletes). */
  readonly deleteEvery: number;
  /** Node-page bytes one window may hold (default COUNT_WINDOW_BYTES). */
  readonly windowBytes?: number;
}

export interface CountResult {
  readonly treePages: number;
  readonly walked: number;
  readonly walkHash: string;
  /** Trees built to count the stream: 1 unless it was counted in windows. */
  readonly windows: number;
}

/** Simulated RAM for node pages: the reference's arena starts at 4 GiB too. */
const ARENA_BASE = 2 ** 32;
const ARENA_SIZE = 2 ** 44;

/** A fresh tree on an otherwise empty machine, sized for any count run; `onAlloc` hears of each node page. */
export function scratchTree(pageShift: number, onAlloc: () => void = () => {}): KhoRadixTree {
  const mem = new PhysMem(2 ** pageShift, [{ start: ARENA_BASE, size: ARENA_SIZE, nid: 0 }]);
  const pages = new PageAllocator(mem);
  return KhoRadixTree.create(mem, {
    alloc(order) {
      onAlloc();
      return pages.alloc(order);
    },
    freeBlock: (pa, order) => pages.freeBlock(pa, order),
  });
}

/**
 * Node pages two trees of one ascending stream both hold, when one holds
 * the keys up to `last` and the other those from `next` on: the root, and
 * each node below it whose key prefix the two keys still share (a node at
 * level l is named by the key bits from level l + 1's shift up).
 */
function sharedNodes(g: RadixGeometry, last: number, next: number): number {
  let n = 1;
  for (let l = g.depth - 2; l >= 0; l--) {
    const unit = 2 ** g.levelShifts[l]!;
    if (Math.floor(last / unit) !== Math.floor(next / unit)) break;
    n++;
  }
  return n;
}

/**
 * What `radix_ref count` computes, on this project's tree: add every block
 * of the stream, delete every d-th, walk. Throws EPROTO if the walk does not
 * see exactly the blocks left, as the reference refuses to report then.
 *
 * An ascending stream is cut into windows of whole blocks whose trees hold
 * at most `windowBytes` of node pages: each window's blocks are added,
 * deleted and walked in its own tree. Windows follow in key order, so their
 * walks in turn are the whole tree's walk, and a node two windows both
 * hold is one the boundary keys share (sharedNodes), counted once.
 */
export function countTree(spec: CountSpec): CountResult {
  const stream = keyStream(spec);
  const { order, pages, deleteEvery } = spec;
  if (!Number.isSafeInteger(deleteEvery) || deleteEvery < 0)
    throw new KhoError("EINVAL", `delete-every ${deleteEvery} is not a count`, "deleteEvery");
  const g = radixGeometry(2 ** spec.pageShift);
  // One add allocates at most depth - 1 pages: a window opens with room for its root and one add.
  const budget = Math.max(Math.floor((spec.windowBytes ?? COUNT_WINDOW_BYTES) / g.pageSize), g.depth);
  const keyAt = (i: number): number => encodePfnKey(g, stream.pfnAt(i), order);
  const hash = new WalkHash();
  let walked = 0;
  let deleted = 0;
  let treePages = 0;
  let windows = 0;
  let i = 0;
  do {
    const start = i;
    let allocated = 0;
    const tree = scratchTree(spec.pageShift, () => allocated++);
    for (; i < pages && (!stream.ascending || allocated + g.depth - 1 <= budget); i++)
      tree.addPage(stream.pfnAt(i), order);
    if (deleteEvery > 0)
      for (let j = Math.ceil(start / deleteEvery) * deleteEvery; j < i; j += deleteEvery) {
        tree.delPage(stream.pfnAt(j), order);
        deleted++;
      }
    tree.walk((phys, o) => {
      walked++;
      hash.add(phys, o);
      return 0;
    });
    treePages += tree.nodePages - (start > 0 ? sharedNodes(g, keyAt(start - 1), keyAt(start)) : 0);
    windows++;
  } while (i < pages);
  // Streams never repeat a block, so each delete removed one key.
  if (walked !== pages - deleted)
    throw new KhoError("EPROTO", `walked ${walked} keys, expected ${pages - deleted}`, "walk");
  return { treePages, walked, walkHash: hash.toString(), windows };
}

/** The reference's JSON line for `count` (with or without the hash). */
export function formatCount(r: CountResult, withHash: boolean): string {
  return withHash
    ? `{"tree_pages": ${r.treePages}, "walked": ${r.walked}, "walk_hash": "${r.walkHash}"}`
    : `{"tree_pages": ${r.treePages}, "walked": ${r.walked}}`;
}
