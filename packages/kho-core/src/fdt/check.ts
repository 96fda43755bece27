import { structAccepted } from "./check-fast.js";
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_FIRST_SUPPORTED_VERSION,
  FDT_LAST_SUPPORTED_VERSION,
  FDT_MAGIC,
  FDT_NOP,
  FDT_PROP,
  FDT_RESERVE_ENTRY_SIZE,
  FDT_TAGSIZE,
  FDT_V1_SIZE,
  FDT_V2_SIZE,
  FDT_V3_SIZE,
  FDT_V16_SIZE,
  FDT_V17_SIZE,
  type FdtErrName,
} from "./constants.js";
import { FdtError } from "./errors.js";
import type { FdtHeader } from "./header.js";

/*
 * A faithful model of libfdt 1.6.1's validation (fdt_check_header and
 * fdt_check_full) and of the low-level helpers they rely on. The arithmetic
 * follows the C types on purpose (32-bit unsigned wrap-around, int offsets),
 * because the error libfdt reports for a hostile blob depends on exactly
 * which bound trips first.
 */

/** C's INT_MAX: libfdt keeps totalsize and offsets in an int, so nothing may reach past it. */
export const INT_MAX = 0x7fffffff;

/** Header size libfdt assumes for a given version word. */
export function fdtHeaderSize(version: number): number {
  if (version <= 1) return FDT_V1_SIZE;
  if (version <= 2) return FDT_V2_SIZE;
  if (version <= 3) return FDT_V3_SIZE;
  if (version <= 16) return FDT_V16_SIZE;
  return FDT_V17_SIZE;
}

/**
 * Read-only view of a blob with the header words cached. Reads past the end
 * of the buffer yield 0 instead of throwing: libfdt reads some header words
 * (size_dt_strings, size_dt_struct) even when an old header is too short to
 * hold them, and a zero is the deterministic stand-in for those bytes.
 */
export class FdtView {
  readonly magic: number;
  readonly totalsize: number;
  readonly offStruct: number;
  readonly offStrings: number;
  readonly offRsvmap: number;
  readonly version: number;
  readonly lastComp: number;
  readonly bootCpuid: number;
  readonly sizeStrings: number;
  readonly sizeStruct: number;

  constructor(readonly buf: Uint8Array) {
    this.magic = this.u32(0);
    this.totalsize = this.u32(4);
    this.offStruct = this.u32(8);
    this.offStrings = this.u32(12);
    this.offRsvmap = this.u32(16);
    this.version = this.u32(20);
    this.lastComp = this.u32(24);
    this.bootCpuid = this.u32(28);
    this.sizeStrings = this.u32(32);
    this.sizeStruct = this.u32(36);
  }

  byte(abs: number): number {
    return abs >= 0 && abs < this.buf.length ? this.buf[abs]! : 0;
  }

  u32(abs: number): number {
    return ((this.byte(abs) << 24) | (this.byte(abs + 1) << 16) | (this.byte(abs + 2) << 8) | this.byte(abs + 3)) >>> 0;
  }

  u64(abs: number): bigint {
    return (BigInt(this.u32(abs)) << 32n) | BigInt(this.u32(abs + 4));
  }

  /**
   * fdt_offset_ptr: the absolute position of `len` bytes at struct offset
   * `offset`, or -1 when libfdt would refuse the range.
   */
  structPtr(offset: number, len: number): number {
    if (offset < 0) return -1;
    const uoff = offset >>> 0;
    const abs = (offset + this.offStruct) >>> 0;
    const ulen = len >>> 0;
    if (abs < uoff) return -1;
    if ((abs + ulen) >>> 0 < abs) return -1;
    if ((abs + ulen) >>> 0 > this.totalsize) return -1;
    if (this.version >= 0x11) {
      if ((uoff + ulen) >>> 0 < uoff) return -1;
      if ((uoff + ulen) >>> 0 > this.sizeStruct) return -1;
    }
    return abs;
  }
}

/** The header words of a view, as the FdtHeader record. */
export function headerOf(v: FdtView): FdtHeader {
  return {
    magic: v.magic,
    totalsize: v.totalsize,
    off_dt_struct: v.offStruct,
    off_dt_strings: v.offStrings,
    off_mem_rsvmap: v.offRsvmap,
    version: v.version,
    last_comp_version: v.lastComp,
    boot_cpuid_phys: v.bootCpuid,
    size_dt_strings: v.sizeStrings,
    size_dt_struct: v.sizeStruct,
  };
}

/** Result of one fdt_next_tag step: the tag and the next offset or a negative error. */
export interface FdtTagStep {
  tag: number;
  /** Next tag offset, or a libfdt error name when the tag could not be read whole. */
  next: number | FdtErrName;
}

/** fdt_next_tag for the struct offset `start`. */
export function stepTag(v: FdtView, start: number): FdtTagStep {
  if (v.structPtr(start, FDT_TAGSIZE) < 0) return { tag: FDT_END, next: "FDT_ERR_TRUNCATED" };
  const tag = v.u32(v.structPtr(start, FDT_TAGSIZE));
  let offset = start + FDT_TAGSIZE;
  const bad: FdtTagStep = { tag: FDT_END, next: "FDT_ERR_BADSTRUCTURE" };
  switch (tag) {
    case FDT_BEGIN_NODE: {
      // The name runs to its NUL; every byte must lie inside the struct block.
      for (;;) {
        const p = v.structPtr(offset, 1);
        offset++;
        if (p < 0) return bad;
        if (v.byte(p) === 0) break;
      }
      break;
    }
    case FDT_PROP: {
      const lp = v.structPtr(offset, 4);
      if (lp < 0) return bad;
      const len = v.u32(lp);
      // C adds a size_t then stores into an int: wrap to 32 bits.
      offset = (offset + 8 + len) | 0;
      if (v.version < 0x10 && len >= 8 && ((offset - len) & 7) !== 0) offset += 4;
      break;
    }
    case FDT_END:
    case FDT_END_NODE:
    case FDT_NOP:
      break;
    default:
      return bad;
  }
  if (v.structPtr(start, (offset - start) >>> 0) < 0) return bad;
  return { tag, next: (offset + FDT_TAGSIZE - 1) & ~(FDT_TAGSIZE - 1) };
}

/** fdt_get_string: the bytes of the string at `stroffset` (without its NUL) or an error name. */
export function stringAt(v: FdtView, stroffset: number): Uint8Array | FdtErrName {
  const abs = (stroffset + v.offStrings) >>> 0;
  if (abs >= v.totalsize) return "FDT_ERR_BADOFFSET";
  let len = v.totalsize - abs;
  if (stroffset < 0) return "FDT_ERR_BADOFFSET";
  if (v.version >= 17) {
    if (stroffset >>> 0 >= v.sizeStrings) return "FDT_ERR_BADOFFSET";
    const room = (v.sizeStrings - stroffset) >>> 0;
    if (room < len) len = room;
  }
  for (let i = 0; i < len; i++) if (v.byte(abs + i) === 0) return v.buf.subarray(abs, abs + i);
  return "FDT_ERR_TRUNCATED";
}

/** A property as libfdt's fdt_getprop_by_offset sees it. */
export interface FdtRawProp {
  name: Uint8Array;
  /** Absolute position of the value in the blob. */
  valueAt: number;
  len: number;
}

/** fdt_getprop_by_offset: name, value position and length of the property at `offset`. */
export function propAt(v: FdtView, offset: number): FdtRawProp | FdtErrName {
  if (offset < 0 || offset % FDT_TAGSIZE !== 0) return "FDT_ERR_BADOFFSET";
  if (stepTag(v, offset).tag !== FDT_PROP) return "FDT_ERR_BADOFFSET";
  const base = v.offStruct + offset;
  const len = v.u32(base + 4);
  const name = stringAt(v, v.u32(base + 8) | 0);
  if (typeof name === "string") return name;
  // Blobs older than v16 pad values of 8 bytes or more to an 8-byte boundary.
  const shifted = v.version < 0x10 && (offset + 12) % 8 !== 0 && len >= 8;
  return { name, valueAt: base + 12 + (shifted ? 4 : 0), len };
}

/**
 * fdt_get_name: the node name as libfdt reports it. Before v16 names are full
 * paths and libfdt returns the part after the last '/'.
 */
export function nodeNameAt(v: FdtView, offset: number): Uint8Array | FdtErrName {
  if (offset < 0 || offset % FDT_TAGSIZE !== 0) return "FDT_ERR_BADOFFSET";
  if (stepTag(v, offset).tag !== FDT_BEGIN_NODE) return "FDT_ERR_BADOFFSET";
  const start = v.offStruct + offset + FDT_TAGSIZE;
  let end = start;
  while (end < v.buf.length && v.buf[end] !== 0) end++;
  const full = v.buf.subarray(start, end);
  if (v.version < 0x10) {
    const slash = full.lastIndexOf(0x2f);
    // libfdt 1.6.1 dereferences the NULL it gets here and crashes; this model
    // reports the error fdt_get_name itself computed instead.
    if (slash < 0) return "FDT_ERR_BADSTRUCTURE";
    return full.subarray(slash + 1);
  }
  return full;
}

function fail(err: FdtErrName, message: string, where: string): never {
  throw new FdtError(err, message, where);
}

const hex = (n: number): string => `0x${n.toString(16)}`;

function checkOff(hdrsize: number, totalsize: number, off: number): boolean {
  return off >= hdrsize && off <= totalsize;
}

function checkBlock(hdrsize: number, totalsize: number, base: number, size: number): boolean {
  if (!checkOff(hdrsize, totalsize, base)) return false;
  const end = (base + size) >>> 0;
  if (end < base) return false;
  return checkOff(hdrsize, totalsize, end);
}

/** The first fdt_check_header rule a header breaks: libfdt's error, a message and the field at fault. */
export interface HeaderFault {
  err: FdtErrName;
  message: string;
  where: string;
}

/**
 * The rules of fdt_check_header (libfdt 1.6.1) over header words the caller
 * has already read, so that each caller keeps its own way of reading a short
 * buffer; null when every rule holds.
 */
export function headerFault(h: FdtHeader): HeaderFault | null {
  const bad = (err: FdtErrName, message: string, where: string): HeaderFault => ({ err, message, where });
  if (h.magic !== FDT_MAGIC) return bad("FDT_ERR_BADMAGIC", `magic is ${hex(h.magic)}`, "header.magic");
  if (h.version < FDT_FIRST_SUPPORTED_VERSION || h.last_comp_version > FDT_LAST_SUPPORTED_VERSION)
    return bad("FDT_ERR_BADVERSION", `version ${h.version}, last compatible ${h.last_comp_version}`, "header.version");
  if (h.version < h.last_comp_version)
    return bad(
      "FDT_ERR_BADVERSION",
      `version ${h.version} older than last compatible ${h.last_comp_version}`,
      "header.version",
    );
  const hdrsize = fdtHeaderSize(h.version);
  const total = h.totalsize;
  if (total < hdrsize || total > INT_MAX)
    return bad("FDT_ERR_TRUNCATED", `totalsize ${total} out of range`, "header.totalsize");
  if (!checkOff(hdrsize, total, h.off_mem_rsvmap))
    return bad(
      "FDT_ERR_TRUNCATED",
      `reserve map at ${hex(h.off_mem_rsvmap)} outside the blob`,
      "header.off_mem_rsvmap",
    );
  if (h.version < 17) {
    if (!checkOff(hdrsize, total, h.off_dt_struct))
      return bad(
        "FDT_ERR_TRUNCATED",
        `struct block at ${hex(h.off_dt_struct)} outside the blob`,
        "header.off_dt_struct",
      );
  } else if (!checkBlock(hdrsize, total, h.off_dt_struct, h.size_dt_struct)) {
    return bad(
      "FDT_ERR_TRUNCATED",
      `struct block ${hex(h.off_dt_struct)}+${hex(h.size_dt_struct)} outside the blob`,
      "header.off_dt_struct",
    );
  }
  if (!checkBlock(hdrsize, total, h.off_dt_strings, h.size_dt_strings))
    return bad(
      "FDT_ERR_TRUNCATED",
      `strings block ${hex(h.off_dt_strings)}+${hex(h.size_dt_strings)} outside the blob`,
      "header.off_dt_strings",
    );
  return null;
}

/** fdt_check_header (libfdt 1.6.1). Throws FdtError on the first failed rule. */
export function checkFdtHeader(blob: Uint8Array): void {
  const v = new FdtView(blob);
  checkHeaderView(v);
}

function checkHeaderView(v: FdtView): void {
  const f = headerFault(headerOf(v));
  if (f) fail(f.err, f.message, f.where);
}

/**
 * fdt_num_mem_rsv: the number of reservation entries before the terminator,
 * or TRUNCATED when the list runs off the end of the blob.
 */
export function countMemReserve(v: FdtView): number {
  for (let i = 0; ; i++) {
    const abs = (v.offRsvmap + i * FDT_RESERVE_ENTRY_SIZE) >>> 0;
    if (abs < v.offRsvmap || abs > v.totalsize - FDT_RESERVE_ENTRY_SIZE)
      fail("FDT_ERR_TRUNCATED", `reserve map entry ${i} runs past totalsize`, `offset ${hex(abs)}`);
    if (v.u64(abs + 8) === 0n) return i;
  }
}

/**
 * Validates a DTB as libfdt 1.6.1's fdt_check_full(blob, bufsize) does and
 * throws an FdtError carrying the same error name. `bufsize` larger than the
 * array is clamped: bytes that do not exist cannot vouch for a blob.
 */
export function checkFull(blob: Uint8Array, bufsize: number = blob.length): void {
  const v = checkFraming(blob, bufsize);
  // The common case is decided in one pass of direct reads; the exact walk gives the verdict otherwise.
  if (v.version >= 17 && structAccepted(blob, v.offStruct, v.sizeStruct, v.offStrings, v.sizeStrings)) return;
  checkStructExact(v);
}

/** checkFull without its one-pass fast path: the exact model alone, which the tests hold the fast path to. */
export function checkFullExact(blob: Uint8Array, bufsize: number = blob.length): void {
  checkStructExact(checkFraming(blob, bufsize));
}

/** fdt_check_full up to its struct walk: buffer size, header, totalsize against the buffer, reserve map. */
function checkFraming(blob: Uint8Array, bufsize: number): FdtView {
  const size = Math.max(0, Math.min(Math.floor(bufsize), blob.length));
  if (size < FDT_V1_SIZE) fail("FDT_ERR_TRUNCATED", `buffer of ${size} bytes is shorter than any header`, "header");
  const v = new FdtView(blob);
  if (size < fdtHeaderSize(v.version))
    fail("FDT_ERR_TRUNCATED", `buffer of ${size} bytes is shorter than the header`, "header");
  checkHeaderView(v);
  if (size < v.totalsize)
    fail("FDT_ERR_TRUNCATED", `totalsize ${v.totalsize} exceeds the ${size}-byte buffer`, "header.totalsize");
  countMemReserve(v);
  return v;
}

/** fdt_check_full's struct walk, tag by tag through the libfdt model (stepTag, nodeNameAt, propAt). */
function checkStructExact(v: FdtView): void {
  let next = 0;
  let depth = 0;
  let expectEnd = false;
  // Tags sit at multiples of 4 below totalsize, so a walk of more steps than
  // that has come back to an offset it read before, and since the next offset
  // depends on the offset alone it repeats forever. fdt_next_tag refuses a
  // step backwards (fdt_offset_ptr sees the negative span wrap), but a
  // property length of 0xfffffff4 wraps the 32-bit offset exactly onto the
  // property's own tag: libfdt 1.6.1 spins there. Such a loop never meets
  // FDT_END, so libfdt could only have ended it with BADSTRUCTURE (open nodes
  // running out); failing with BADSTRUCTURE keeps its verdict wherever it has one.
  let steps = Math.floor(v.totalsize / FDT_TAGSIZE) + 1;
  for (;;) {
    const offset = next;
    if (--steps < 0)
      fail(
        "FDT_ERR_BADSTRUCTURE",
        "the tag walk returns to a tag it has read (a wrapping length)",
        `struct offset ${hex(offset)}`,
      );
    const step = stepTag(v, offset);
    // The place is spelled out only when it is reported: this loop runs once per tag.
    const where = (): string => `struct offset ${hex(offset)}`;
    if (typeof step.next === "string") fail(step.next, `bad tag ${hex(step.tag)}`, where());
    next = step.next;
    if (expectEnd && step.tag !== FDT_END) fail("FDT_ERR_BADSTRUCTURE", "content after the root node", where());
    switch (step.tag) {
      case FDT_NOP:
        break;
      case FDT_END:
        if (depth !== 0) fail("FDT_ERR_BADSTRUCTURE", `FDT_END inside ${depth} open node(s)`, where());
        return;
      case FDT_BEGIN_NODE: {
        depth++;
        if (depth === 1) {
          const name = nodeNameAt(v, offset);
          if (typeof name === "string") fail(name, "unreadable root node name", where());
          if (name.length !== 0) fail("FDT_ERR_BADSTRUCTURE", "root node name is not empty", where());
        }
        break;
      }
      case FDT_END_NODE:
        if (depth === 0) fail("FDT_ERR_BADSTRUCTURE", "FDT_END_NODE without an open node", where());
        depth--;
        if (depth === 0) expectEnd = true;
        break;
      case FDT_PROP: {
        const p = propAt(v, offset);
        if (typeof p === "string") fail(p, "bad property", where());
        break;
      }
      default:
        fail("FDT_ERR_INTERNAL", `unexpected tag ${hex(step.tag)}`, where());
    }
  }
}

/** The libfdt error name for `blob`, or null when it is valid. */
export function fdtVerdict(blob: Uint8Array, bufsize: number = blob.length): FdtErrName | null {
  try {
    checkFull(blob, bufsize);
    return null;
  } catch (e) {
    if (e instanceof FdtError) return e.fdtErr;
    throw e;
  }
}
