/**
 * Read-write editing of a devicetree in place, with libfdt's fdt_rw.c
 * semantics: the same splice points, the same string reuse, the same offsets
 * returned and the same errors. Every change is a memmove inside the caller's
 * buffer, so bytes past totalsize after a shrink or a pack are left as they
 * were; KHO's root FDT lives in a page of simulated memory and the next
 * kernel sees those leftovers.
 */

import { KhoError } from "../errors.js";
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_MAGIC,
  FDT_NOP,
  FDT_PROP,
  FDT_RESERVE_ENTRY_SIZE,
  FDT_TAGSIZE,
  HDR,
} from "./constants.js";
import { FdtError } from "./errors.js";
import { alignUp, be32, hdrGet as get, hdrSet as set, setBe32, setBe64 } from "./header.js";
import {
  checkNodeOffset,
  cstr,
  E_BADLAYOUT,
  E_BADOFFSET,
  E_BADVERSION,
  E_EXISTS,
  E_INTERNAL,
  E_NOSPACE,
  E_NOTFOUND,
  E_TRUNCATED,
  FDT_PROP_HEADER_SIZE,
  fdtCheck,
  fdtErrName,
  getNameRc,
  getPropertyWRc,
  nextTag,
  nodeEndOffsetRc,
  numMemRsvRc,
  pathOffset,
  roProbe,
  subnodeOffsetRc,
  tagAlign,
} from "./ro.js";
import { cstrValue, toU64, type U64, u32be, u64be, u64le } from "./sw.js";

/** Where fdt_pack and a reordering fdt_open_into put the reserve map: the header rounded to 8. */
export const FDT_RW_RSVMAP_OFFSET = alignUp(40, 8);

/** Header word of a header that starts at `base` inside the buffer. */
function getAt(b: Uint8Array, base: number, f: keyof typeof HDR): number {
  return be32(b, base + HDR[f]);
}
function setAt(b: Uint8Array, base: number, f: keyof typeof HDR, v: number): void {
  setBe32(b, base + HDR[f], v >>> 0);
}

function blocksMisordered(b: Uint8Array, memRsvSize: number, structSize: number): boolean {
  return (
    get(b, "off_mem_rsvmap") < FDT_RW_RSVMAP_OFFSET ||
    get(b, "off_dt_struct") < get(b, "off_mem_rsvmap") + memRsvSize ||
    get(b, "off_dt_strings") < get(b, "off_dt_struct") + structSize ||
    get(b, "totalsize") < get(b, "off_dt_strings") + get(b, "size_dt_strings")
  );
}

/** fdt_rw_probe_: a finished, ordered v17 blob (newer versions are downgraded to 17). */
function rwProbe(b: Uint8Array): number {
  const r = roProbe(b);
  if (r < 0) return r;
  if (get(b, "version") < 17) return E_BADVERSION;
  if (blocksMisordered(b, FDT_RESERVE_ENTRY_SIZE, get(b, "size_dt_struct"))) return E_BADLAYOUT;
  if (get(b, "version") > 17) set(b, "version", 17);
  return 0;
}

function dataSize(b: Uint8Array): number {
  return get(b, "off_dt_strings") + get(b, "size_dt_strings");
}

/** fdt_splice_: replace `oldlen` bytes at absolute `p` by `newlen` bytes, shifting the rest. */
function splice(b: Uint8Array, p: number, oldlen: number, newlen: number): number {
  const dsize = dataSize(b);
  if (oldlen < 0 || p + oldlen > dsize) return E_BADOFFSET;
  if (p < 0 || dsize + newlen < oldlen) return E_BADOFFSET;
  if (dsize - oldlen + newlen > get(b, "totalsize")) return E_NOSPACE;
  // The view is the real extent of the buffer; libfdt trusts totalsize here.
  if (dsize - oldlen + newlen > b.length || dsize > b.length) return E_NOSPACE;
  b.copyWithin(p + newlen, p + oldlen, dsize);
  return 0;
}

function spliceMemRsv(b: Uint8Array, p: number, oldn: number, newn: number): number {
  const delta = (newn - oldn) * FDT_RESERVE_ENTRY_SIZE;
  const err = splice(b, p, oldn * FDT_RESERVE_ENTRY_SIZE, newn * FDT_RESERVE_ENTRY_SIZE);
  if (err) return err;
  set(b, "off_dt_struct", get(b, "off_dt_struct") + delta);
  set(b, "off_dt_strings", get(b, "off_dt_strings") + delta);
  return 0;
}

function spliceStruct(b: Uint8Array, p: number, oldlen: number, newlen: number): number {
  const delta = newlen - oldlen;
  const err = splice(b, p, oldlen, newlen);
  if (err) return err;
  set(b, "size_dt_struct", get(b, "size_dt_struct") + delta);
  set(b, "off_dt_strings", get(b, "off_dt_strings") + delta);
  return 0;
}

/**
 * fdt_find_add_string_: reuse any place where the bytes and a NUL already
 * occur in the strings block (a suffix of a longer name counts), else append.
 */
function findAddString(b: Uint8Array, s: Uint8Array): { off: number; allocated: boolean } {
  const tab = get(b, "off_dt_strings");
  const size = get(b, "size_dt_strings");
  const last = tab + size - (s.length + 1);
  outer: for (let p = tab; p <= last; p++) {
    for (let i = 0; i < s.length; i++) if (b[p + i] !== s[i]) continue outer;
    if (b[p + s.length] === 0) return { off: p - tab, allocated: false };
  }
  const err = splice(b, tab + size, 0, s.length + 1);
  if (err) return { off: err, allocated: false };
  set(b, "size_dt_strings", size + s.length + 1);
  b.set(s, tab + size);
  b[tab + size + s.length] = 0;
  return { off: size, allocated: true };
}

function structPos(b: Uint8Array, offset: number): number {
  return get(b, "off_dt_struct") + offset;
}

/** fdt_resize_property_: the property's data position after resizing, or a negative code. */
function resizeProperty(b: Uint8Array, node: number, name: Uint8Array, len: number): number {
  const prop = getPropertyWRc(b, node, name);
  if (typeof prop === "number") return prop;
  const err = spliceStruct(b, prop.pos + FDT_PROP_HEADER_SIZE, tagAlign(prop.len), tagAlign(len));
  if (err) return err;
  setBe32(b, prop.pos + 4, len);
  return prop.pos + FDT_PROP_HEADER_SIZE;
}

/** fdt_add_property_: a new property right after the node's name; its data position. */
function addProperty(b: Uint8Array, node: number, name: Uint8Array, len: number): number {
  const next = checkNodeOffset(b, node);
  if (next < 0) return next;
  const { off: nameoff, allocated } = findAddString(b, name);
  if (nameoff < 0) return nameoff;
  const pos = structPos(b, next);
  const err = spliceStruct(b, pos, 0, FDT_PROP_HEADER_SIZE + tagAlign(len));
  if (err) {
    // The name was added for this property only: take it back (the bytes stay).
    if (allocated) set(b, "size_dt_strings", get(b, "size_dt_strings") - (name.length + 1));
    return err;
  }
  setBe32(b, pos, FDT_PROP);
  setBe32(b, pos + 4, len);
  setBe32(b, pos + 8, nameoff);
  return pos + FDT_PROP_HEADER_SIZE;
}

function packBlocks(
  b: Uint8Array,
  oldBase: number,
  newBase: number,
  memRsvSize: number,
  structSize: number,
  stringsSize: number,
): void {
  const memRsvOff = FDT_RW_RSVMAP_OFFSET;
  const structOff = memRsvOff + memRsvSize;
  const stringsOff = structOff + structSize;
  // Read each old offset just before its block moves: old and new headers
  // are the same bytes when packing in place.
  let from = oldBase + getAt(b, oldBase, "off_mem_rsvmap");
  b.copyWithin(newBase + memRsvOff, from, from + memRsvSize);
  setAt(b, newBase, "off_mem_rsvmap", memRsvOff);

  from = oldBase + getAt(b, oldBase, "off_dt_struct");
  b.copyWithin(newBase + structOff, from, from + structSize);
  setAt(b, newBase, "off_dt_struct", structOff);
  setAt(b, newBase, "size_dt_struct", structSize);

  from = oldBase + getAt(b, oldBase, "off_dt_strings");
  b.copyWithin(newBase + stringsOff, from, from + stringsSize);
  setAt(b, newBase, "off_dt_strings", stringsOff);
  setAt(b, newBase, "size_dt_strings", getAt(b, oldBase, "size_dt_strings"));
}

/**
 * A devicetree being edited in place inside `buf` (which may be a view of a
 * larger memory: only its bytes are ever touched). Offsets are struct
 * offsets as libfdt returns them; failures throw the FdtError libfdt would
 * return, leaving the buffer as libfdt leaves it.
 */
export class FdtRw {
  constructor(readonly buf: Uint8Array) {}

  /** fdt_open_into(buf, buf, bufsize) on `buf`, returning the editor. */
  static openInto(buf: Uint8Array, bufsize: number): FdtRw {
    const rw = new FdtRw(buf);
    rw.openInto(bufsize);
    return rw;
  }

  get totalsize(): number {
    return get(this.buf, "totalsize");
  }

  /** The blob as it stands: a view of the first totalsize bytes. */
  get blob(): Uint8Array {
    return this.buf.subarray(0, Math.min(this.totalsize, this.buf.length));
  }

  private rc(rc: number, what: string, where?: string): number {
    return fdtCheck(rc, what, where);
  }

  /**
   * fdt_open_into in place: makes the blob editable with `bufsize` bytes of
   * room. An ordered blob stays where it is (version 17, totalsize =
   * bufsize); a misordered one is repacked through the space right after
   * its old end, which therefore needs room for the packed copy.
   */
  openInto(bufsize: number): void {
    const b = this.buf;
    if (!Number.isInteger(bufsize) || bufsize > b.length) {
      throw new KhoError("EINVAL", `bufsize ${bufsize} does not fit the ${b.length}-byte buffer`);
    }
    this.rc(roProbe(b), "not a devicetree");
    const nrsv = this.rc(numMemRsvRc(b), "reserve map runs past the blob");
    const memRsvSize = (nrsv + 1) * FDT_RESERVE_ENTRY_SIZE;
    const version = get(b, "version");
    let structSize: number;
    if (version >= 17) {
      structSize = get(b, "size_dt_struct");
    } else if (version === 16) {
      // Version 16 has no size_dt_struct: measure up to the END tag.
      structSize = 0;
      for (;;) {
        const t = nextTag(b, structSize);
        structSize = t.next;
        if (t.tag === FDT_END) break;
      }
      this.rc(structSize, "structure block has no END tag");
    } else {
      this.rc(E_BADVERSION, `cannot open a version ${version} devicetree`);
      return;
    }

    const oldTotal = get(b, "totalsize");
    if (!blocksMisordered(b, memRsvSize, structSize)) {
      // fdt_move onto itself: only the size check matters.
      if (bufsize < 0 || oldTotal > bufsize) this.rc(E_NOSPACE, `devicetree of ${oldTotal} bytes exceeds ${bufsize}`);
      set(b, "version", 17);
      set(b, "size_dt_struct", structSize);
      set(b, "totalsize", bufsize);
      return;
    }

    const stringsSize = get(b, "size_dt_strings");
    const newsize = FDT_RW_RSVMAP_OFFSET + memRsvSize + structSize + stringsSize;
    if (bufsize < newsize) this.rc(E_NOSPACE, `reordered devicetree needs ${newsize} bytes`);
    // Build at the start of the buffer unless that overlaps the old tree
    // (always, in place): then right after the old tree.
    let tmp = 0;
    if (tmp + newsize > 0 && tmp < oldTotal) {
      tmp = oldTotal;
      if (tmp + newsize > bufsize) this.rc(E_NOSPACE, `no room after the old tree to reorder it`);
    }
    const src = (f: keyof typeof HDR, size: number): boolean => get(b, f) + size <= b.length;
    if (
      !src("off_mem_rsvmap", memRsvSize) ||
      !src("off_dt_struct", structSize) ||
      !src("off_dt_strings", stringsSize)
    ) {
      this.rc(E_TRUNCATED, "a block lies outside the buffer");
    }
    packBlocks(b, 0, tmp, memRsvSize, structSize, stringsSize);
    b.copyWithin(0, tmp, tmp + newsize);
    set(b, "magic", FDT_MAGIC);
    set(b, "totalsize", bufsize);
    set(b, "version", 17);
    set(b, "last_comp_version", 16);
    // libfdt reads boot_cpuid_phys from the same buffer after the move, so
    // the word that lands there is the one copied from the temporary header.
    set(b, "boot_cpuid_phys", get(b, "boot_cpuid_phys"));
  }

  /** fdt_pack: reserve map at 40, structure and strings right behind, totalsize trimmed. */
  pack(): void {
    const b = this.buf;
    this.rc(rwProbe(b), "cannot edit this devicetree");
    const n = this.rc(numMemRsvRc(b), "reserve map runs past the blob");
    packBlocks(b, 0, 0, (n + 1) * FDT_RESERVE_ENTRY_SIZE, get(b, "size_dt_struct"), get(b, "size_dt_strings"));
    set(b, "totalsize", dataSize(b));
  }

  /**
   * fdt_add_subnode: a new empty child placed right after the parent's
   * properties, so before its existing children. Returns the new node's
   * offset; FDT_ERR_EXISTS when a child of that name (or `name@unit` for a
   * name without `@`) exists.
   */
  addSubnode(parent: number, name: string): number {
    const b = this.buf;
    const n = cstr(name);
    this.rc(rwProbe(b), "cannot edit this devicetree");
    const found = subnodeOffsetRc(b, parent, n);
    if (found >= 0) this.rc(E_EXISTS, `node "${name}" exists`, `node offset ${parent}`);
    if (found !== E_NOTFOUND) this.rc(found, "bad parent", `node offset ${parent}`);

    let t = nextTag(b, parent);
    if (t.tag !== FDT_BEGIN_NODE) this.rc(E_INTERNAL, "parent is not a node");
    let offset: number;
    do {
      offset = t.next;
      t = nextTag(b, offset);
    } while (t.tag === FDT_PROP || t.tag === FDT_NOP);

    const pos = structPos(b, offset);
    const namePad = tagAlign(n.length + 1);
    const nodelen = FDT_TAGSIZE + namePad + FDT_TAGSIZE;
    this.rc(spliceStruct(b, pos, 0, nodelen), `no room for node "${name}"`);
    setBe32(b, pos, FDT_BEGIN_NODE);
    b.fill(0, pos + FDT_TAGSIZE, pos + FDT_TAGSIZE + namePad);
    b.set(n, pos + FDT_TAGSIZE);
    setBe32(b, pos + nodelen - FDT_TAGSIZE, FDT_END_NODE);
    return offset;
  }

  /**
   * fdt_setprop: an existing property is resized in place; a new one goes
   * right after the node's name, before the existing properties.
   */
  setprop(node: number, name: string, value: Uint8Array): void {
    const b = this.buf;
    const n = cstr(name);
    this.rc(rwProbe(b), "cannot edit this devicetree");
    let data = resizeProperty(b, node, n, value.length);
    if (data === E_NOTFOUND) data = addProperty(b, node, n, value.length);
    this.rc(data, `cannot set property "${name}"`, `node offset ${node}`);
    b.set(value, data);
  }

  setpropEmpty(node: number, name: string): void {
    this.setprop(node, name, new Uint8Array(0));
  }

  setpropString(node: number, name: string, value: string): void {
    this.setprop(node, name, cstrValue(value));
  }

  /** Big-endian u32 cell. */
  setpropU32(node: number, name: string, value: number): void {
    this.setprop(node, name, u32be(value));
  }

  /** Big-endian u64. */
  setpropU64(node: number, name: string, value: U64): void {
    this.setprop(node, name, u64be(value));
  }

  /** CPU-native (little-endian) u64, as KHO writes preserved-data and blob-size. */
  setpropU64Le(node: number, name: string, value: U64): void {
    this.setprop(node, name, u64le(value));
  }

  /** fdt_appendprop: extends an existing value, or adds the property as setprop would. */
  appendprop(node: number, name: string, value: Uint8Array): void {
    const b = this.buf;
    const n = cstr(name);
    this.rc(rwProbe(b), "cannot edit this devicetree");
    const prop = getPropertyWRc(b, node, n);
    if (typeof prop !== "number") {
      const newlen = prop.len + value.length;
      const data = prop.pos + FDT_PROP_HEADER_SIZE;
      this.rc(spliceStruct(b, data, tagAlign(prop.len), tagAlign(newlen)), `cannot grow property "${name}"`);
      setBe32(b, prop.pos + 4, newlen);
      b.set(value, data + prop.len);
      return;
    }
    const data = this.rc(addProperty(b, node, n, value.length), `cannot add property "${name}"`, `node offset ${node}`);
    b.set(value, data);
  }

  /** fdt_delprop. FDT_ERR_NOTFOUND when the node lacks it. The name stays in the strings block. */
  delprop(node: number, name: string): void {
    const b = this.buf;
    this.rc(rwProbe(b), "cannot edit this devicetree");
    const prop = getPropertyWRc(b, node, cstr(name));
    if (typeof prop === "number") {
      throw new FdtError(fdtErrName(prop), `cannot delete property "${name}"`, `node offset ${node}`);
    }
    this.rc(spliceStruct(b, prop.pos, FDT_PROP_HEADER_SIZE + tagAlign(prop.len), 0), "cannot delete property");
  }

  /** fdt_del_node: the node and its whole subtree. Property names stay in the strings block. */
  delNode(node: number): void {
    const b = this.buf;
    this.rc(rwProbe(b), "cannot edit this devicetree");
    const end = this.rc(nodeEndOffsetRc(b, node), "bad node", `node offset ${node}`);
    this.rc(spliceStruct(b, structPos(b, node), end - node, 0), "cannot delete node");
  }

  /** fdt_set_name: renames in place; only the new name and its NUL are written. */
  setName(node: number, name: string): void {
    const b = this.buf;
    const n = cstr(name);
    this.rc(rwProbe(b), "cannot edit this devicetree");
    const old = getNameRc(b, node);
    if (typeof old === "number") throw new FdtError(fdtErrName(old), "not a node", `node offset ${node}`);
    this.rc(spliceStruct(b, old.pos, tagAlign(old.len + 1), tagAlign(n.length + 1)), `cannot rename to "${name}"`);
    b.set(n, old.pos);
    b[old.pos + n.length] = 0;
  }

  /** fdt_add_mem_rsv: appends a reserve entry before the terminator. */
  addMemRsv(address: U64, size: U64): void {
    const b = this.buf;
    this.rc(rwProbe(b), "cannot edit this devicetree");
    const n = this.rc(numMemRsvRc(b), "reserve map runs past the blob");
    const pos = get(b, "off_mem_rsvmap") + n * FDT_RESERVE_ENTRY_SIZE;
    this.rc(spliceMemRsv(b, pos, 0, 1), "no room for a reserve entry");
    setBe64(b, pos, toU64(address, "address"));
    setBe64(b, pos + 8, toU64(size, "size"));
  }

  /** fdt_del_mem_rsv: removes entry `n`; FDT_ERR_NOTFOUND past the last one. */
  delMemRsv(n: number): void {
    const b = this.buf;
    const pos = get(b, "off_mem_rsvmap") + n * FDT_RESERVE_ENTRY_SIZE;
    this.rc(rwProbe(b), "cannot edit this devicetree");
    const num = this.rc(numMemRsvRc(b), "reserve map runs past the blob");
    if (n >= num) this.rc(E_NOTFOUND, `no reserve entry ${n}`);
    this.rc(spliceMemRsv(b, pos, 1, 0), "cannot delete reserve entry");
  }

  /** Offset of the node at `path`. */
  pathOffset(path: string): number {
    return pathOffset(this.buf, path);
  }
}
