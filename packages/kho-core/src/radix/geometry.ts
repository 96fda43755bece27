import { KhoError } from "../errors.js";
import { pageGeometry } from "../mem/geometry.js";
import { hex } from "../units.js";

export interface RadixGeometryOptions {
  /**
   * Use the depth formula from before d64b0372760e, which forgets the order
   * bit. Only 16 KiB pages are affected (depth 4 instead of 5); it exists so
   * the regression can be reproduced.
   */
  readonly legacyDepth?: boolean;
}

/** The shape of the preserved-memory radix tree for one page size. */
export interface RadixGeometry {
  readonly pageSize: number;
  readonly pageShift: number;
  /** Bit position of the order bit of an order-0 key (KHO_ORDER_0_LOG2). */
  readonly order0Log2: number;
  /** Width of a valid key in bits (order0Log2 + 1). */
  readonly keyBits: number;
  /** log2 of the entries in one table node (KHO_TABLE_SIZE_LOG2). */
  readonly tableLog2: number;
  readonly tableEntries: number;
  /** log2 of the bits in one leaf bitmap (KHO_BITMAP_SIZE_LOG2). */
  readonly bitmapLog2: number;
  readonly leafBits: number;
  /** Levels including the leaf level (KHO_TREE_MAX_DEPTH). */
  readonly depth: number;
  readonly legacyDepth: boolean;
  /** levelShifts[l - 1] is the key bit where table level l (1 .. depth-1) starts. */
  readonly levelShifts: readonly number[];
  /** Key bits the tree indexes: bitmapLog2 + (depth - 1) * tableLog2. */
  readonly coveredBits: number;
  /** Largest order with a non-zero aligned 64-bit address (63 - pageShift). */
  readonly maxOrder: number;
}

/** Geometry of the radix tree for `pageSize` (4, 16 or 64 KiB). */
export function radixGeometry(pageSize: number, opts: RadixGeometryOptions = {}): RadixGeometry {
  const p = pageGeometry(pageSize).pageShift;
  const order0Log2 = 64 - p;
  const tableLog2 = p - 3;
  const bitmapLog2 = p + 3;
  const legacy = opts.legacyDepth === true;
  // The fixed formula counts the order bit (+1); the old one did not.
  const keyBitsAboveLeaf = order0Log2 - bitmapLog2 + (legacy ? 0 : 1);
  const depth = Math.ceil(keyBitsAboveLeaf / tableLog2) + 1;
  const levelShifts: number[] = [];
  for (let l = 1; l < depth; l++) levelShifts.push(bitmapLog2 + (l - 1) * tableLog2);
  return {
    pageSize,
    pageShift: p,
    order0Log2,
    keyBits: order0Log2 + 1,
    tableLog2,
    tableEntries: 2 ** tableLog2,
    bitmapLog2,
    leafBits: 2 ** bitmapLog2,
    depth,
    legacyDepth: legacy,
    levelShifts,
    coveredBits: bitmapLog2 + (depth - 1) * tableLog2,
    maxOrder: 63 - p,
  };
}

const TWO_64 = 2 ** 64;

function checkOrder(g: RadixGeometry, order: number): void {
  if (!Number.isInteger(order) || order < 0 || order > g.maxOrder)
    throw new KhoError("EINVAL", `order ${order} is outside 0..${g.maxOrder} for ${g.pageSize}-byte pages`);
}

/**
 * Key of the block of 2^order pages at page frame `pfn`. Frame bits below
 * the order alignment are dropped, as the kernel drops them. Every pfn of a
 * 64-bit address space is below 2^order0Log2 <= 2^52, so keys are exact.
 */
export function encodePfnKey(g: RadixGeometry, pfn: number, order: number): number {
  checkOrder(g, order);
  if (!Number.isInteger(pfn) || pfn < 0 || pfn >= 2 ** g.order0Log2)
    throw new KhoError("ERANGE", `page frame ${pfn} is outside the 64-bit physical address space`);
  return 2 ** (g.order0Log2 - order) + Math.floor(pfn / 2 ** order);
}

/**
 * Key of (pa, order): (1 << (order0Log2 - order)) | (pa >> (pageShift + order)).
 * `pa` may be any 64-bit address (a bigint, or a number that is an exact
 * integer below 2^64); the key itself always fits 53 bits.
 */
export function encodeKey(g: RadixGeometry, pa: number | bigint, order: number): number {
  if (typeof pa === "bigint") {
    if (pa < 0n || pa >= 1n << 64n) throw new KhoError("ERANGE", `physical address ${hex(pa)} does not fit 64 bits`);
    return encodePfnKey(g, Number(pa >> BigInt(g.pageShift)), order);
  }
  if (!Number.isInteger(pa) || pa < 0 || pa >= TWO_64)
    throw new KhoError("ERANGE", `physical address ${pa} is not a 64-bit address`);
  return encodePfnKey(g, Math.floor(pa / g.pageSize), order);
}

export interface DecodedKey {
  /**
   * The 64-bit physical address. It has at most 52 significant bits, so it
   * is exact as a number even when it lies above 2^53 (a mis-decoded key of
   * the legacy 16 KiB tree can land there).
   */
  readonly phys: number;
  readonly order: number;
}

/**
 * Inverse of encodeKey with the kernel's 64-bit semantics: the highest set
 * bit gives the order (order0Log2 - fls64(key) + 1) and shifting the key
 * left by pageShift + order pushes that bit out of the 64-bit word. Key 0
 * (only reachable through the legacy depth) decodes as order
 * order0Log2 + 1 at address 0. Keys wider than keyBits have no order and
 * are rejected.
 */
export function decodeKey(g: RadixGeometry, key: number): DecodedKey {
  if (!Number.isInteger(key) || key < 0 || key >= 2 ** g.keyBits)
    throw new KhoError("ERANGE", `key ${Number.isSafeInteger(key) ? hex(key) : key} is wider than ${g.keyBits} bits`);
  if (key === 0) return { phys: 0, order: g.order0Log2 + 1 };
  const msb = msb53(key);
  const top = 2 ** msb;
  // (key - top) < 2^msb, shifted to end at bit 63: never wraps, always exact.
  return { phys: (key - top) * 2 ** (64 - msb), order: g.order0Log2 - msb };
}

/** Index of the highest set bit of a positive integer below 2^53. */
export function msb53(n: number): number {
  const hi = Math.floor(n / 4294967296);
  return hi !== 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(n >>> 0);
}

/**
 * Table index of `key` at level l (1 .. depth-1) and its leaf bit. Shifts at
 * or past 64 give 0, as the reference defines them.
 */
export function keyPath(
  g: RadixGeometry,
  key: number,
): { readonly tableIndices: number[]; readonly leafIndex: number } {
  const tableIndices: number[] = [];
  for (let l = g.depth - 1; l >= 1; l--) {
    const s = g.levelShifts[l - 1]!;
    tableIndices.push(s >= 64 ? 0 : Math.floor(key / 2 ** s) % g.tableEntries);
  }
  return { tableIndices, leafIndex: key % g.leafBits };
}
