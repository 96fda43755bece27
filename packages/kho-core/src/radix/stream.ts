import { KhoError } from "../errors.js";
import { PageAllocator } from "../mem/alloc.js";
import { PhysMem } from "../mem/phys.js";
import { encodePfnKey, type RadixGeometry, radixGeometry } from "./geometry.js";
import { KhoRadixTree, type RadixNodeAllocator } from "./tree.js";
import type { RadixBatchSink } from "./walk-batch.js";

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
 *
 * It takes a walk's batches (KhoRadixTree.walkBatches): the digest is a
 * chain of dependent multiplies, and with the state in locals of one loop
 * nothing but that chain is on its critical path, where a call per block
 * would store and reload the state each time.
 */
export class WalkHash implements RadixBatchSink {
  private hi = 0xcbf29ce4 | 0;
  private lo = 0x84222325 | 0;
  /** Blocks added. */
  walked = 0;

  /** Adds blocks 0 .. n-1 of a walk batch (a phys is any exact integer below 2^64); never stops the walk. */
  batch(phys: Float64Array, orders: Uint8Array, n: number): number {
    this.walked += n;
    let hi = this.hi;
    let lo = this.lo;
    // The prime 0x100000001b3 is 2^40 + 0x1b3, so x * prime is x * 0x1b3 plus x << 40 (xlo << 8 in the high
    // word). The carry out of the low word of xlo * 0x1b3 is taken on 16-bit halves, so nothing leaves int32.
    // Both steps of a block are written out, with the constant as a literal: a loop over the two steps, or a
    // helper function, runs markedly slower (the helper's identity is checked on every pass).
    for (let i = 0; i < n; i++) {
      const p = phys[i]!;
      // ToInt32 (| 0) of an exact integer keeps its low 32 bits; of p / 2^32 it keeps the high word.
      let xlo = lo ^ (p | 0);
      let xhi = hi ^ ((p / 4294967296) | 0);
      let carry = ((xlo >>> 16) * 0x1b3 + (((xlo & 0xffff) * 0x1b3) >>> 16)) >>> 16;
      let mhi = (Math.imul(xhi, 0x1b3) + carry + (xlo << 8)) | 0;
      let mlo = Math.imul(xlo, 0x1b3);
      // h ^= h >> 29, then the order (it has no high word), grouped so the term that waits for the carry is last.
      xlo = mlo ^ (mlo >>> 29) ^ orders[i]! ^ (mhi << 3);
      xhi = mhi ^ (mhi >>> 29);
      carry = ((xlo >>> 16) * 0x1b3 + (((xlo & 0xffff) * 0x1b3) >>> 16)) >>> 16;
      mhi = (Math.imul(xhi, 0x1b3) + carry + (xlo << 8)) | 0;
      mlo = Math.imul(xlo, 0x1b3);
      lo = mlo ^ (mlo >>> 29) ^ (mhi << 3);
      hi = mhi ^ (mhi >>> 29);
    }
    this.hi = hi;
    this.lo = lo;
    return 0;
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

/**
 * Node pages of a scratch tree, counted. A class, not an object literal of
 * closures: optimised tree code that calls the allocator may bind to the
 * functions it saw, and closures made per tree die with it and throw that
 * code away; methods on a prototype are the same for every tree.
 */
class ScratchNodeAllocator implements RadixNodeAllocator {
  allocated = 0;

  constructor(private readonly pages: PageAllocator) {}

  alloc(order: number): number {
    this.allocated++;
    return this.pages.alloc(order);
  }

  freeBlock(pa: number, order: number): void {
    this.pages.freeBlock(pa, order);
  }
}

/** A fresh tree on an otherwise empty machine, sized for any count run, and its node-page counter. */
export function scratchTree(pageShift: number): { readonly tree: KhoRadixTree; readonly nodes: ScratchNodeAllocator } {
  const mem = new PhysMem(2 ** pageShift, [{ start: ARENA_BASE, size: ARENA_SIZE, nid: 0 }]);
  const nodes = new ScratchNodeAllocator(new PageAllocator(mem));
  return { tree: KhoRadixTree.create(mem, nodes), nodes };
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
  let deleted = 0;
  let treePages = 0;
  let windows = 0;
  let i = 0;
  do {
    const start = i;
    const { tree, nodes } = scratchTree(spec.pageShift);
    for (; i < pages && (!stream.ascending || nodes.allocated + g.depth - 1 <= budget); i++)
      tree.addPage(stream.pfnAt(i), order);
    if (deleteEvery > 0)
      for (let j = Math.ceil(start / deleteEvery) * deleteEvery; j < i; j += deleteEvery) {
        tree.delPage(stream.pfnAt(j), order);
        deleted++;
      }
    tree.walkBatches(hash);
    treePages += tree.nodePages - (start > 0 ? sharedNodes(g, keyAt(start - 1), keyAt(start)) : 0);
    windows++;
  } while (i < pages);
  // Streams never repeat a block, so each delete removed one key.
  if (hash.walked !== pages - deleted)
    throw new KhoError("EPROTO", `walked ${hash.walked} keys, expected ${pages - deleted}`, "walk");
  return { treePages, walked: hash.walked, walkHash: hash.toString(), windows };
}

/** The reference's JSON line for `count` (with or without the hash). */
export function formatCount(r: CountResult, withHash: boolean): string {
  return withHash
    ? `{"tree_pages": ${r.treePages}, "walked": ${r.walked}, "walk_hash": "${r.walkHash}"}`
    : `{"tree_pages": ${r.treePages}, "walked": ${r.walked}}`;
}
