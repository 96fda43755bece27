import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_NOP, FDT_PROP } from "./constants.js";

/** Rounds up to a tag boundary without 32-bit wrap-around (`& ~3` would turn 2^31 negative). */
const align4 = (x: number): number => x + (-x & 3);

/**
 * The struct walk of fdt_check_full for the common case, in one pass of
 * direct reads: a version 17 (or later) blob whose header already passed
 * fdt_check_header and whose totalsize fits the buffer. It only ever says
 * "valid": it answers true when every tag is whole inside the struct block,
 * every property's name lies inside the strings block, nodes balance, the
 * root's name is empty and FDT_END follows the root; anything else (an odd
 * tag, a length that would wrap, a walk that runs off the block) answers
 * false and the exact model (checkFull's own walk) decides and names the
 * error. So the fast path cannot change a verdict, only reach "valid" sooner.
 *
 * It relies on what the header check proved for version >= 17: both blocks
 * lie inside totalsize, so the struct limit libfdt's fdt_offset_ptr applies
 * is size_dt_struct, and a name at offset k of the strings block is
 * readable exactly when a NUL lies at or after k inside that block.
 */
export function structAccepted(
  b: Uint8Array,
  offStruct: number,
  sizeStruct: number,
  offStrings: number,
  sizeStrings: number,
): boolean {
  // Any name offset up to the block's last NUL finds its terminator inside the block.
  let lastNul = sizeStrings - 1;
  while (lastNul >= 0 && b[offStrings + lastNul] !== 0) lastNul--;
  // Offsets are relative to the struct block (libfdt aligns them so); `at` is the absolute position.
  let o = 0;
  let depth = 0;
  let rootClosed = false;
  for (;;) {
    if (o + 4 > sizeStruct) return false;
    const at = offStruct + o;
    const tag = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
    if (rootClosed && tag !== FDT_END) return false;
    if (tag === FDT_PROP) {
      if (o + 12 > sizeStruct) return false;
      const len = ((b[at + 4]! << 24) | (b[at + 5]! << 16) | (b[at + 6]! << 8) | b[at + 7]!) >>> 0;
      const nameoff = ((b[at + 8]! << 24) | (b[at + 9]! << 16) | (b[at + 10]! << 8) | b[at + 11]!) >>> 0;
      // len <= sizeStruct keeps every sum below 2^32: no wrap-around for the exact model to judge.
      if (len > sizeStruct || o + 12 + len > sizeStruct || nameoff > lastNul) return false;
      o = align4(o + 12 + len);
    } else if (tag === FDT_BEGIN_NODE) {
      const name = at + 4;
      const end = offStruct + sizeStruct;
      let nul = name;
      while (nul < end && b[nul] !== 0) nul++;
      if (nul >= end || (depth === 0 && nul !== name)) return false;
      depth++;
      o = align4(nul + 1 - offStruct);
    } else if (tag === FDT_END_NODE) {
      if (depth === 0) return false;
      if (--depth === 0) rootClosed = true;
      o += 4;
    } else if (tag === FDT_NOP) {
      o += 4;
    } else {
      return tag === FDT_END && depth === 0;
    }
  }
}
