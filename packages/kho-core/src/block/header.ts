import { kho_block_header_ser } from "../abi/index.js";
import { KhoError } from "../errors.js";
import type { PhysMem } from "../mem/phys.js";
import { hex } from "../units.js";

/** A block header as the simulator handles it: `next` as an address, `count` as the raw u64. */
export interface BlockHeader {
  readonly next: number;
  readonly count: bigint;
}

const NEXT_AT = kho_block_header_ser.offsetOf("next");
const COUNT_AT = kho_block_header_ser.offsetOf("count");

/** Bytes before the first entry of a block: the header, as the ABI layout declares it. */
export const BLOCK_HEADER_SIZE = kho_block_header_ser.size;

/**
 * Reads the header of the block at `pa`. A `next` beyond the simulator's
 * 53-bit addresses is ERANGE: the kernel would dereference it and crash.
 */
export function readBlockHeader(mem: PhysMem, pa: number): BlockHeader {
  // Two plain loads at the layout's offsets: every entry reserved or read
  // touches a header, so a 100 000-entry set cannot afford a schema decode.
  const next = mem.readU64(pa + NEXT_AT);
  if (next > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new KhoError("ERANGE", `block next pointer ${hex(next)} is not a physical address`, hex(pa));
  }
  return { next: Number(next), count: mem.readU64(pa + COUNT_AT) };
}

/**
 * The count of the block at `pa` as a number: exact up to 2^53, and above
 * that some number at least 2^53, which compares like the u64 against any
 * slot index. Every entry read compares its index with it, so a
 * page-aligned block (every block this kernel made) is read straight from
 * its page's bytes, without a bigint.
 */
export function readBlockCount(mem: PhysMem, pa: number): number {
  if (pa % mem.pageSize !== 0) return Number(mem.readU64(pa + COUNT_AT));
  const p = mem.page(pa / mem.pageSize);
  return u32At(p, COUNT_AT) + u32At(p, COUNT_AT + 4) * 2 ** 32;
}

/**
 * Stores `count` (a slot count: an integer below 2^32) as the block's u64
 * count. Every reserved entry updates it, as the kernel does, so this
 * writes the page's bytes directly and leaves `next` alone.
 */
export function writeBlockCount(mem: PhysMem, pa: number, count: number): void {
  if (pa % mem.pageSize !== 0) {
    mem.writeU64(pa + COUNT_AT, count);
    return;
  }
  const p = mem.page(pa / mem.pageSize);
  for (let i = 0; i < 8; i++) p[COUNT_AT + i] = i < 4 ? (count >>> (8 * i)) & 0xff : 0;
}

/**
 * The `next` of the block at `pa`, ERANGE beyond 53 bits as readBlockHeader.
 * Restoring walks every block's link three times (the cycle check's two
 * runners, then the adoption), so a page-aligned block is read from its
 * page's bytes, without a bigint.
 */
export function readBlockNext(mem: PhysMem, pa: number): number {
  if (pa % mem.pageSize !== 0) return readBlockHeader(mem, pa).next;
  const p = mem.page(pa / mem.pageSize);
  const high = u32At(p, NEXT_AT + 4);
  // 2^53 and above: the general path throws the ERANGE, with the value.
  if (high >= 2 ** 21) return readBlockHeader(mem, pa).next;
  return u32At(p, NEXT_AT) + high * 2 ** 32;
}

/** Links the block at `pa` to the block at `next` (0 ends the chain); the count stays. */
export function writeBlockNext(mem: PhysMem, pa: number, next: number): void {
  mem.writeU64(pa + NEXT_AT, next);
}

/** The little-endian u32 at `at` of `bytes`. */
function u32At(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

export function writeBlockHeader(mem: PhysMem, pa: number, header: BlockHeader): void {
  mem.writeU64(pa + NEXT_AT, header.next);
  mem.writeU64(pa + COUNT_AT, header.count);
}
