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

export function writeBlockHeader(mem: PhysMem, pa: number, header: BlockHeader): void {
  mem.writeU64(pa + NEXT_AT, header.next);
  mem.writeU64(pa + COUNT_AT, header.count);
}
