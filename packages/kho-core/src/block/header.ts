import { kho_block_header_ser } from "../abi/index.js";
import { KhoError } from "../errors.js";
import type { PhysMem } from "../mem/phys.js";
import { hex } from "../units.js";

/** A block header as the simulator handles it: `next` as an address, `count` as the raw u64. */
export interface BlockHeader {
  readonly next: number;
  readonly count: bigint;
}

/** Bytes before the first entry of a block: the header, as the ABI layout declares it. */
export const BLOCK_HEADER_SIZE = kho_block_header_ser.size;

/**
 * Reads the header of the block at `pa`. A `next` beyond the simulator's
 * 53-bit addresses is ERANGE: the kernel would dereference it and crash.
 */
export function readBlockHeader(mem: PhysMem, pa: number): BlockHeader {
  const raw = kho_block_header_ser.readAt(mem, pa);
  if (raw.next > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new KhoError("ERANGE", `block next pointer ${hex(raw.next)} is not a physical address`, hex(pa));
  }
  return { next: Number(raw.next), count: raw.count };
}

export function writeBlockHeader(mem: PhysMem, pa: number, header: BlockHeader): void {
  kho_block_header_ser.writeAt(mem, pa, { next: BigInt(header.next), count: header.count });
}
