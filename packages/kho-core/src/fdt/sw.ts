/**
 * Sequential-write FDT construction with libfdt's fdt_sw.c semantics and
 * byte layout. As in libfdt, all state lives in the buffer's header (magic
 * FDT_SW_MAGIC while unfinished, off_dt_strings as the phase marker, the
 * create flags in last_comp_version), so a half-built buffer looks exactly
 * like libfdt's, and only the bytes libfdt writes are written: name padding
 * and value padding keep whatever the buffer held.
 */

import { KhoError } from "../errors.js";
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_HEADER_SIZE,
  FDT_LAST_COMPATIBLE_VERSION,
  FDT_LAST_SUPPORTED_VERSION,
  FDT_MAGIC,
  FDT_PROP,
  FDT_RESERVE_ENTRY_SIZE,
  FDT_TAGSIZE,
} from "./constants.js";
import { alignUp, be32, hdrGet as get, hdrSet as set, setBe32, setBe64 } from "./header.js";
import {
  cstr,
  E_BADFLAGS,
  E_BADMAGIC,
  E_BADSTATE,
  E_NOSPACE,
  FDT_PROP_HEADER_SIZE,
  FDT_SW_MAGIC,
  fdtCheck,
  nextTag,
  tagAlign,
} from "./ro.js";

/** fdt_create_with_flags: do not look for an existing copy of a property name. */
export const FDT_CREATE_FLAG_NO_NAME_DEDUP = 0x1;
const FDT_CREATE_FLAGS_ALL = FDT_CREATE_FLAG_NO_NAME_DEDUP;

/** Reserve map offset of a fresh sequential-write blob: the header rounded to a reserve entry. */
export const FDT_SW_RSVMAP_OFFSET = alignUp(FDT_HEADER_SIZE, FDT_RESERVE_ENTRY_SIZE);

/** A u64 given as number (must be a safe non-negative integer) or bigint (taken mod 2^64). */
export type U64 = number | bigint;

export function toU64(v: U64, what: string): bigint {
  if (typeof v === "bigint") return BigInt.asUintN(64, v);
  if (!Number.isSafeInteger(v) || v < 0) throw new KhoError("EINVAL", `${what} is not a u64: ${v}`);
  return BigInt(v);
}

export function u32be(v: number): Uint8Array {
  const b = new Uint8Array(4);
  setBe32(b, 0, v >>> 0);
  return b;
}

export function u64be(v: U64): Uint8Array {
  const b = new Uint8Array(8);
  setBe64(b, 0, toU64(v, "value"));
  return b;
}

/** CPU-native u64 as KHO stores its values (x86-64 and arm64 are little-endian). */
export function u64le(v: U64): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, toU64(v, "value"), true);
  return b;
}

/** A C string value: the bytes and their NUL. */
export function cstrValue(s: string): Uint8Array {
  const b = cstr(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/**
 * A devicetree under sequential construction: reserve entries, then nodes
 * and properties in document order, then finish(). Each method throws the
 * FdtError libfdt would return (FDT_ERR_NOSPACE, FDT_ERR_BADSTATE,
 * FDT_ERR_BADMAGIC); a failed call leaves the buffer as libfdt leaves it.
 */
export class FdtSw {
  private constructor(readonly buf: Uint8Array) {}

  /** fdt_create over a new zeroed buffer of `bufsize` bytes. */
  static create(bufsize: number, flags = 0): FdtSw {
    return FdtSw.createInto(new Uint8Array(Math.max(bufsize, 0)), bufsize, flags);
  }

  /** fdt_create_with_flags over the first `bufsize` bytes of a caller's buffer (zeroes them). */
  static createInto(buf: Uint8Array, bufsize: number = buf.length, flags = 0): FdtSw {
    if (!Number.isInteger(bufsize) || bufsize > buf.length) {
      throw new KhoError("EINVAL", `bufsize ${bufsize} does not fit the ${buf.length}-byte buffer`);
    }
    if (bufsize < FDT_SW_RSVMAP_OFFSET) fdtCheck(E_NOSPACE, `buffer of ${bufsize} bytes cannot hold a header`);
    if ((flags & ~FDT_CREATE_FLAGS_ALL) !== 0) fdtCheck(E_BADFLAGS, `unknown create flags ${flags}`);
    buf.fill(0, 0, bufsize);
    set(buf, "magic", FDT_SW_MAGIC);
    set(buf, "version", FDT_LAST_SUPPORTED_VERSION);
    set(buf, "last_comp_version", flags);
    set(buf, "totalsize", bufsize);
    set(buf, "off_mem_rsvmap", FDT_SW_RSVMAP_OFFSET);
    set(buf, "off_dt_struct", FDT_SW_RSVMAP_OFFSET);
    set(buf, "off_dt_strings", 0);
    return new FdtSw(buf);
  }

  /**
   * Continues a sequential write already in progress in `buf` (state is in
   * its header). Nothing is checked until the next call, as in libfdt.
   */
  static resume(buf: Uint8Array): FdtSw {
    return new FdtSw(buf);
  }

  private probe(): void {
    const magic = get(this.buf, "magic");
    if (magic === FDT_MAGIC) fdtCheck(E_BADSTATE, "the devicetree is already finished");
    if (magic !== FDT_SW_MAGIC) fdtCheck(E_BADMAGIC, "not a devicetree under construction");
  }

  private probeMemrsv(): void {
    this.probe();
    if (get(this.buf, "off_dt_strings") !== 0) fdtCheck(E_BADSTATE, "the reserve map is already finished");
  }

  private probeStruct(): void {
    this.probe();
    if (get(this.buf, "off_dt_strings") !== get(this.buf, "totalsize")) {
      fdtCheck(E_BADSTATE, "the reserve map is not finished yet");
    }
  }

  /** fdt_grab_space_: absolute position of `len` new struct bytes, or -1. */
  private grab(len: number): number {
    const b = this.buf;
    const used = get(b, "size_dt_struct");
    const room = get(b, "totalsize") - get(b, "off_dt_struct") - get(b, "size_dt_strings");
    if (used + len > room) return -1;
    set(b, "size_dt_struct", used + len);
    return get(b, "off_dt_struct") + used;
  }

  addReservemapEntry(address: U64, size: U64): void {
    this.probeMemrsv();
    const b = this.buf;
    const off = get(b, "off_dt_struct");
    if (off + FDT_RESERVE_ENTRY_SIZE > get(b, "totalsize")) fdtCheck(E_NOSPACE, "no room for a reserve entry");
    setBe64(b, off, toU64(address, "address"));
    setBe64(b, off + 8, toU64(size, "size"));
    set(b, "off_dt_struct", off + FDT_RESERVE_ENTRY_SIZE);
  }

  /** Writes the terminating reserve entry and opens the structure phase. */
  finishReservemap(): void {
    this.addReservemapEntry(0n, 0n);
    set(this.buf, "off_dt_strings", get(this.buf, "totalsize"));
  }

  beginNode(name: string): void {
    this.probeStruct();
    const n = cstr(name);
    const pos = this.grab(FDT_TAGSIZE + tagAlign(n.length + 1));
    if (pos < 0) fdtCheck(E_NOSPACE, `no room for node "${name}"`);
    setBe32(this.buf, pos, FDT_BEGIN_NODE);
    this.buf.set(n, pos + FDT_TAGSIZE);
    this.buf[pos + FDT_TAGSIZE + n.length] = 0;
  }

  endNode(): void {
    this.probeStruct();
    const pos = this.grab(FDT_TAGSIZE);
    if (pos < 0) fdtCheck(E_NOSPACE, "no room for END_NODE");
    setBe32(this.buf, pos, FDT_END_NODE);
  }

  /**
   * fdt_add_string_: strings grow down from the end of the buffer; the
   * result is the (negative) offset from totalsize, 0 when out of room.
   */
  private addString(s: Uint8Array): number {
    const b = this.buf;
    const total = get(b, "totalsize");
    const tab = get(b, "size_dt_strings");
    const len = s.length + 1;
    const offset = -tab - len;
    if (total + offset < get(b, "off_dt_struct") + get(b, "size_dt_struct")) return 0;
    b.set(s, total + offset);
    b[total + offset + s.length] = 0;
    set(b, "size_dt_strings", tab + len);
    return offset;
  }

  /** The first place the name and its NUL already occur in the strings area, else a new copy. */
  private findAddString(s: Uint8Array): { off: number; allocated: boolean } {
    const b = this.buf;
    const total = get(b, "totalsize");
    const tab = get(b, "size_dt_strings");
    const start = total - tab;
    const last = total - (s.length + 1);
    outer: for (let p = start; p <= last; p++) {
      for (let i = 0; i < s.length; i++) if (b[p + i] !== s[i]) continue outer;
      if (b[p + s.length] === 0) return { off: p - total, allocated: false };
    }
    return { off: this.addString(s), allocated: true };
  }

  /** fdt_property: a property of the node being written; `value` may be empty. */
  property(name: string, value: Uint8Array): void {
    this.probeStruct();
    const b = this.buf;
    const n = cstr(name);
    const { off: nameoff, allocated } =
      (get(b, "last_comp_version") & FDT_CREATE_FLAG_NO_NAME_DEDUP) !== 0
        ? { off: this.addString(n), allocated: true }
        : this.findAddString(n);
    if (nameoff === 0) fdtCheck(E_NOSPACE, `no room for the name "${name}"`);
    const pos = this.grab(FDT_PROP_HEADER_SIZE + tagAlign(value.length));
    if (pos < 0) {
      // Take back a name added for this property only.
      if (allocated) set(b, "size_dt_strings", get(b, "size_dt_strings") - (n.length + 1));
      fdtCheck(E_NOSPACE, `no room for property "${name}"`);
    }
    setBe32(b, pos, FDT_PROP);
    setBe32(b, pos + 4, value.length);
    setBe32(b, pos + 8, nameoff >>> 0);
    b.set(value, pos + FDT_PROP_HEADER_SIZE);
  }

  propertyEmpty(name: string): void {
    this.property(name, new Uint8Array(0));
  }

  /** A NUL-terminated string value. */
  propertyString(name: string, value: string): void {
    this.property(name, cstrValue(value));
  }

  /** A big-endian u32 cell (devicetree convention). */
  propertyU32(name: string, value: number): void {
    this.property(name, u32be(value));
  }

  /** A big-endian u64 (two cells). */
  propertyU64(name: string, value: U64): void {
    this.property(name, u64be(value));
  }

  /** A CPU-native (little-endian) u64, as KHO stores physical addresses and sizes. */
  propertyU64Le(name: string, value: U64): void {
    this.property(name, u64le(value));
  }

  /**
   * fdt_finish: END tag, strings moved right behind the structure, name
   * offsets rebased, header turned into a normal v17 one. Returns the blob
   * (a view of the first totalsize bytes of the buffer).
   */
  finish(): Uint8Array {
    this.probeStruct();
    const b = this.buf;
    const endPos = this.grab(FDT_TAGSIZE);
    if (endPos < 0) fdtCheck(E_NOSPACE, "no room for the END tag");
    setBe32(b, endPos, FDT_END);

    const strSize = get(b, "size_dt_strings");
    const oldStr = get(b, "totalsize") - strSize;
    const newStr = get(b, "off_dt_struct") + get(b, "size_dt_struct");
    b.copyWithin(newStr, oldStr, oldStr + strSize);
    set(b, "off_dt_strings", newStr);

    // Name offsets were relative to the end of the buffer; make them relative
    // to the start of the strings block.
    const structBase = get(b, "off_dt_struct");
    let offset = 0;
    let t = nextTag(b, offset);
    while (t.tag !== FDT_END) {
      if (t.tag === FDT_PROP) {
        const at = structBase + offset + 8;
        setBe32(b, at, (be32(b, at) + strSize) >>> 0);
      }
      offset = t.next;
      t = nextTag(b, offset);
    }
    fdtCheck(Math.min(t.next, 0), "the structure block is corrupt");

    set(b, "totalsize", newStr + strSize);
    set(b, "last_comp_version", FDT_LAST_COMPATIBLE_VERSION);
    set(b, "magic", FDT_MAGIC);
    return b.subarray(0, newStr + strSize);
  }
}
