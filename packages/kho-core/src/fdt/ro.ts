/**
 * Read-only navigation of a flattened devicetree by struct offsets, with
 * libfdt's semantics (fdt.c / fdt_ro.c): the same offsets, the same error
 * for the same input, the same name matching. The KHO core runs these over
 * views of simulated memory, so every read is also bounded by the view: where
 * libfdt would read past its buffer we fail with FDT_ERR_TRUNCATED instead.
 *
 * Internally the walkers return libfdt-style integers (negative = -error
 * code) because the read-write side composes them exactly as libfdt does;
 * the exported functions turn those into FdtError.
 */

import { headerFault, INT_MAX } from "./check.js";
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_ERR_NAMES,
  FDT_FIRST_SUPPORTED_VERSION,
  FDT_LAST_SUPPORTED_VERSION,
  FDT_MAGIC,
  FDT_NOP,
  FDT_PROP,
  FDT_TAGSIZE,
  FDT_V17_SIZE,
  type FdtErrName,
  fdtErrCode,
  HDR,
} from "./constants.js";
import { FdtError } from "./errors.js";
import { be32, be64, readHeader } from "./header.js";

/** Magic of an unfinished sequential-write blob (bitwise NOT of FDT_MAGIC). */
export const FDT_SW_MAGIC = ~FDT_MAGIC >>> 0;

/** Size of `struct fdt_property` (tag, len, nameoff) before the value. */
export const FDT_PROP_HEADER_SIZE = 12;

// libfdt's negative return codes, named once so the walkers read like libfdt.
export const E_NOTFOUND = -1;
export const E_EXISTS = -2;
export const E_NOSPACE = -3;
export const E_BADOFFSET = -4;
export const E_BADPATH = -5;
export const E_BADSTATE = -7;
export const E_TRUNCATED = -8;
export const E_BADMAGIC = -9;
export const E_BADVERSION = -10;
export const E_BADSTRUCTURE = -11;
export const E_BADLAYOUT = -12;
export const E_INTERNAL = -13;
export const E_BADVALUE = -15;
export const E_BADFLAGS = -18;

/** The libfdt error name of a negative return code. */
export function fdtErrName(rc: number): FdtErrName {
  return FDT_ERR_NAMES[-rc - 1] ?? "FDT_ERR_INTERNAL";
}

/** Throws the FdtError for a negative libfdt-style return code, else returns it. */
export function fdtCheck(rc: number, what: string, where?: string): number {
  if (rc < 0) throw new FdtError(fdtErrName(rc), what, where);
  return rc;
}

/** libfdt's negative return code for an FdtError (the inverse of fdtCheck). */
export function fdtErrno(e: FdtError): number {
  return -fdtErrCode(e.fdtErr);
}

export function tagAlign(n: number): number {
  return (n + FDT_TAGSIZE - 1) & ~(FDT_TAGSIZE - 1);
}

/** Header word; words past the end of the view read as 0. */
export function hword(fdt: Uint8Array, off: number): number {
  return off + 4 <= fdt.length ? be32(fdt, off) : 0;
}

const textEnc = new TextEncoder();
const textDec = new TextDecoder("utf-8", { ignoreBOM: true });

/** The bytes C would see for `name`: UTF-8, cut at the first NUL like strlen. */
export function cstr(s: string): Uint8Array {
  const b = textEnc.encode(s);
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

export function decodeBytes(b: Uint8Array): string {
  return textDec.decode(b);
}

// ---------------------------------------------------------------------------
// Probes

/**
 * The minimal probe every read-only libfdt call starts with. It accepts an
 * unfinished sequential-write blob once it has some structure, as libfdt does,
 * so the writer can walk its own tags. Returns totalsize or a negative code.
 */
export function roProbe(fdt: Uint8Array): number {
  if (fdt.length < FDT_V17_SIZE) return E_TRUNCATED;
  const magic = be32(fdt, HDR.magic);
  if (magic === FDT_MAGIC) {
    if (be32(fdt, HDR.version) < FDT_FIRST_SUPPORTED_VERSION) return E_BADVERSION;
    if (be32(fdt, HDR.last_comp_version) > FDT_LAST_SUPPORTED_VERSION) return E_BADVERSION;
  } else if (magic === FDT_SW_MAGIC) {
    if (be32(fdt, HDR.size_dt_struct) === 0) return E_BADSTATE;
  } else {
    return E_BADMAGIC;
  }
  const total = be32(fdt, HDR.totalsize);
  return total < INT_MAX ? total : E_TRUNCATED;
}

/** fdt_check_header as a return code (0 or negative). */
export function checkHeaderRc(fdt: Uint8Array): number {
  if (fdt.length < 8) return E_TRUNCATED;
  // readHeader reads a word past the view as 0, as hword does. Like libfdt
  // this trusts totalsize beyond the view: the kernel checks the header only,
  // and later reads here are bounded by the view anyway.
  const fault = headerFault(readHeader(fdt));
  return fault ? -fdtErrCode(fault.err) : 0;
}

/**
 * libfdt's fdt_check_header, as the next kernel's kho_populate() runs it on
 * the handed-over page. Throws FdtError (BADMAGIC, BADVERSION, TRUNCATED).
 */
export function checkHeader(fdt: Uint8Array): void {
  fdtCheck(checkHeaderRc(fdt), "devicetree header check failed");
}

// ---------------------------------------------------------------------------
// Tags

/**
 * One past the last struct offset fdt_offset_ptr would hand out: bounded by
 * totalsize, by size_dt_struct from version 17 on, and by the view itself.
 */
function structLimit(fdt: Uint8Array): number {
  const offStruct = hword(fdt, HDR.off_dt_struct);
  let lim = Math.min(hword(fdt, HDR.totalsize), fdt.length) - offStruct;
  if (hword(fdt, HDR.version) >= 0x11) lim = Math.min(lim, hword(fdt, HDR.size_dt_struct));
  return lim;
}

/** fdt_offset_ptr: the absolute position of `len` struct bytes at `offset`, or -1. */
export function offsetPtr(fdt: Uint8Array, offset: number, len: number): number {
  if (offset < 0 || offset + len > structLimit(fdt)) return -1;
  return hword(fdt, HDR.off_dt_struct) + offset;
}

export interface FdtTag {
  /** The token (FDT_END also when the walk stopped early, as libfdt reports it). */
  readonly tag: number;
  /** Struct offset of the next tag, or a negative libfdt code when the walk failed. */
  readonly next: number;
}

/**
 * fdt_next_tag: the tag at a struct offset and where the following one
 * starts. A premature end reads as FDT_END with `next` negative, exactly as
 * libfdt reports it, so walks stop the way libfdt's stop.
 */
export function nextTag(fdt: Uint8Array, start: number): FdtTag {
  // structLimit inlined: every walk steps through here once per tag, so each header word is read once.
  const base = hword(fdt, HDR.off_dt_struct);
  const version = hword(fdt, HDR.version);
  let lim = Math.min(hword(fdt, HDR.totalsize), fdt.length) - base;
  if (version >= 0x11) lim = Math.min(lim, hword(fdt, HDR.size_dt_struct));
  if (start < 0 || start + FDT_TAGSIZE > lim) return { tag: FDT_END, next: E_TRUNCATED };
  const tag = be32(fdt, base + start);
  let off = start + FDT_TAGSIZE;
  switch (tag) {
    case FDT_BEGIN_NODE: {
      // The name must end with a NUL inside the struct block.
      for (;;) {
        if (off + 1 > lim) return { tag: FDT_END, next: E_BADSTRUCTURE };
        if (fdt[base + off++] === 0) break;
      }
      break;
    }
    case FDT_PROP: {
      if (off + 4 > lim) return { tag: FDT_END, next: E_BADSTRUCTURE };
      const len = be32(fdt, base + off);
      off += FDT_PROP_HEADER_SIZE - FDT_TAGSIZE + len;
      // Before version 16 values of 8 bytes or more were 8-aligned.
      if (version < 0x10 && len >= 8 && (off - len) % 8 !== 0) off += 4;
      break;
    }
    case FDT_END:
    case FDT_END_NODE:
    case FDT_NOP:
      break;
    default:
      return { tag: FDT_END, next: E_BADSTRUCTURE };
  }
  if (off > lim) return { tag: FDT_END, next: E_BADSTRUCTURE };
  return { tag, next: tagAlign(off) };
}

/** fdt_check_node_offset_: offset just past the BEGIN_NODE, or BADOFFSET. */
export function checkNodeOffset(fdt: Uint8Array, offset: number): number {
  if (offset < 0 || offset % FDT_TAGSIZE !== 0) return E_BADOFFSET;
  const t = nextTag(fdt, offset);
  return t.tag === FDT_BEGIN_NODE ? t.next : E_BADOFFSET;
}

function checkPropOffset(fdt: Uint8Array, offset: number): number {
  if (offset < 0 || offset % FDT_TAGSIZE !== 0) return E_BADOFFSET;
  const t = nextTag(fdt, offset);
  return t.tag === FDT_PROP ? t.next : E_BADOFFSET;
}

/** A depth counter shared with the caller, as libfdt's `int *depth`. */
export interface DepthBox {
  d: number;
}

/** fdt_next_node: the next BEGIN_NODE in document order (offset -1 = from the start). */
export function nextNodeRc(fdt: Uint8Array, offset: number, depth: DepthBox | null): number {
  let next = 0;
  if (offset >= 0) {
    next = checkNodeOffset(fdt, offset);
    if (next < 0) return next;
  }
  let tag: number;
  do {
    offset = next;
    const t = nextTag(fdt, offset);
    tag = t.tag;
    next = t.next;
    switch (tag) {
      case FDT_BEGIN_NODE:
        if (depth) depth.d++;
        break;
      case FDT_END_NODE:
        if (depth && --depth.d < 0) return next;
        break;
      case FDT_END:
        if (next >= 0 || (next === E_TRUNCATED && !depth)) return E_NOTFOUND;
        return next;
      default:
        break;
    }
  } while (tag !== FDT_BEGIN_NODE);
  return offset;
}

/** fdt_node_end_offset_: offset just past the node's END_NODE. */
export function nodeEndOffsetRc(fdt: Uint8Array, offset: number): number {
  const depth: DepthBox = { d: 0 };
  while (offset >= 0 && depth.d >= 0) offset = nextNodeRc(fdt, offset, depth);
  return offset;
}

export function firstSubnodeRc(fdt: Uint8Array, offset: number): number {
  const depth: DepthBox = { d: 0 };
  const o = nextNodeRc(fdt, offset, depth);
  return o < 0 || depth.d !== 1 ? E_NOTFOUND : o;
}

export function nextSubnodeRc(fdt: Uint8Array, offset: number): number {
  // A sibling sits at the same depth as the node we start from.
  const depth: DepthBox = { d: 1 };
  do {
    offset = nextNodeRc(fdt, offset, depth);
    if (offset < 0 || depth.d < 1) return E_NOTFOUND;
  } while (depth.d > 1);
  return offset;
}

// ---------------------------------------------------------------------------
// Names and strings

/** Absolute position and byte length of a node's name (fdt_get_name), or a negative code. */
export function getNameRc(fdt: Uint8Array, nodeOffset: number): { pos: number; len: number } | number {
  let err = roProbe(fdt);
  if (err < 0) return err;
  err = checkNodeOffset(fdt, nodeOffset);
  if (err < 0) return err;
  let pos = hword(fdt, HDR.off_dt_struct) + nodeOffset + FDT_TAGSIZE;
  const end = fdt.indexOf(0, pos); // next_tag has seen the NUL inside the block
  if (hword(fdt, HDR.version) < 0x10) {
    // Old blobs store full paths; only the leaf is the name.
    const slash = fdt.subarray(pos, end).lastIndexOf(0x2f);
    if (slash < 0) return E_BADSTRUCTURE;
    pos += slash + 1;
  }
  return { pos, len: end - pos };
}

function nodenameEq(fdt: Uint8Array, offset: number, s: Uint8Array): boolean {
  const n = getNameRc(fdt, offset);
  return typeof n !== "number" && nameMatches(fdt, n.pos, s);
}

/**
 * The comparison of fdt_nodename_eq_ on a name at `pos` that has its NUL in
 * the blob. `s` holds no NUL (cstr), so a name shorter than `s` differs at
 * its NUL at the latest.
 */
function nameMatches(fdt: Uint8Array, pos: number, s: Uint8Array): boolean {
  for (let i = 0; i < s.length; i++) if (fdt[pos + i] !== s[i]) return false;
  const after = fdt[pos + s.length];
  if (after === 0) return true;
  // "name" also matches "name@unit" unless the caller gave a unit address.
  return after === 0x40 && s.indexOf(0x40) < 0;
}

/**
 * nodenameEq for a node offset fdt_next_node has just returned in a walk of
 * an unchanged, probed blob: getNameRc's probe and node check would pass
 * again, and from v16 on the name starts right after the tag, so only the
 * comparison is left. This is the inner loop of every subnode lookup
 * (kho_add_subtree looks its name up among all root children first).
 */
function walkedNodenameEq(fdt: Uint8Array, offset: number, s: Uint8Array): boolean {
  if (hword(fdt, HDR.version) < 0x10) return nodenameEq(fdt, offset, s);
  return nameMatches(fdt, hword(fdt, HDR.off_dt_struct) + offset + FDT_TAGSIZE, s);
}

/** fdt_get_string: absolute position and length of a strings-block entry, or a negative code. */
export function getStringRc(fdt: Uint8Array, stroffset: number): { pos: number; len: number } | number {
  const total = roProbe(fdt);
  if (total < 0) return total;
  const offStrings = hword(fdt, HDR.off_dt_strings);
  const sizeStrings = hword(fdt, HDR.size_dt_strings);
  const abs = (stroffset + offStrings) >>> 0;
  if (abs >= total) return E_BADOFFSET;
  let len = total - abs;
  const magic = be32(fdt, HDR.magic);
  if (magic === FDT_MAGIC) {
    if (stroffset < 0) return E_BADOFFSET;
    if (hword(fdt, HDR.version) >= 17) {
      if (stroffset >= sizeStrings) return E_BADOFFSET;
      len = Math.min(len, sizeStrings - stroffset);
    }
  } else {
    // Sequential-write blobs index their strings backwards from the end.
    const back = -stroffset;
    if (stroffset >= 0 || back > sizeStrings) return E_BADOFFSET;
    len = Math.min(len, back);
  }
  const stop = Math.min(abs + len, fdt.length);
  for (let i = abs; i < stop; i++) if (fdt[i] === 0) return { pos: abs, len: i - abs };
  return E_TRUNCATED;
}

function stringEq(fdt: Uint8Array, stroffset: number, s: Uint8Array): boolean {
  const r = getStringRc(fdt, stroffset);
  if (typeof r === "number" || r.len !== s.length) return false;
  for (let i = 0; i < s.length; i++) if (fdt[r.pos + i] !== s[i]) return false;
  return true;
}

/** The name a property offset refers to. */
export function getString(fdt: Uint8Array, stroffset: number): string {
  const r = getStringRc(fdt, stroffset);
  if (typeof r === "number") throw new FdtError(fdtErrName(r), "bad string offset", `string ${stroffset}`);
  return decodeBytes(fdt.subarray(r.pos, r.pos + r.len));
}

// ---------------------------------------------------------------------------
// Lookups

/** fdt_subnode_offset_namelen. */
export function subnodeOffsetRc(fdt: Uint8Array, parent: number, name: Uint8Array): number {
  const p = roProbe(fdt);
  if (p < 0) return p;
  const depth: DepthBox = { d: 0 };
  let offset = parent;
  for (; offset >= 0 && depth.d >= 0; offset = nextNodeRc(fdt, offset, depth)) {
    if (depth.d === 1 && walkedNodenameEq(fdt, offset, name)) return offset;
  }
  return depth.d < 0 ? E_NOTFOUND : offset;
}

/** The C string at an absolute position (up to its NUL or the end of the view). */
function cStringAt(fdt: Uint8Array, pos: number): Uint8Array {
  const nul = fdt.indexOf(0, pos);
  return fdt.subarray(pos, nul < 0 ? fdt.length : nul);
}

/** fdt_path_offset_namelen, aliases included. */
export function pathOffsetRc(fdt: Uint8Array, path: Uint8Array, depthGuard = 0): number {
  const pr = roProbe(fdt);
  if (pr < 0) return pr;
  const end = path.length;
  let p = 0;
  let offset = 0;
  if (path[0] !== 0x2f) {
    // A leading alias name resolves through /aliases, like libfdt.
    let q = path.indexOf(0x2f);
    if (q < 0) q = end;
    if (depthGuard > 8) return E_BADPATH;
    const aliases = pathOffsetRc(fdt, cstr("/aliases"), depthGuard + 1);
    if (aliases < 0) return E_BADPATH;
    const prop = getPropRc(fdt, aliases, path.subarray(0, q));
    if (typeof prop === "number") return E_BADPATH;
    offset = pathOffsetRc(fdt, cStringAt(fdt, prop.valuePos), depthGuard + 1);
    p = q;
  }
  while (p < end) {
    while (path[p] === 0x2f) {
      p++;
      if (p === end) return offset;
    }
    let q = path.indexOf(0x2f, p);
    if (q < 0) q = end;
    offset = subnodeOffsetRc(fdt, offset, path.subarray(p, q));
    if (offset < 0) return offset;
    p = q;
  }
  return offset;
}

export interface RawProp {
  /** Struct offset of the PROP tag. */
  offset: number;
  /** Absolute position of the PROP tag. */
  pos: number;
  len: number;
  nameoff: number;
  /** Absolute position of the value. */
  valuePos: number;
}

function nextPropRc(fdt: Uint8Array, offset: number): number {
  let tag: number;
  do {
    const t = nextTag(fdt, offset);
    tag = t.tag;
    if (tag === FDT_END) return t.next >= 0 ? E_BADSTRUCTURE : t.next;
    if (tag === FDT_PROP) return offset;
    offset = t.next;
  } while (tag === FDT_NOP);
  return E_NOTFOUND;
}

export function firstPropertyOffsetRc(fdt: Uint8Array, node: number): number {
  const o = checkNodeOffset(fdt, node);
  return o < 0 ? o : nextPropRc(fdt, o);
}

export function nextPropertyOffsetRc(fdt: Uint8Array, offset: number): number {
  const o = checkPropOffset(fdt, offset);
  return o < 0 ? o : nextPropRc(fdt, o);
}

function rawPropAt(fdt: Uint8Array, offset: number): RawProp {
  const pos = hword(fdt, HDR.off_dt_struct) + offset;
  const len = be32(fdt, pos + 4);
  let valuePos = pos + FDT_PROP_HEADER_SIZE;
  if (hword(fdt, HDR.version) < 0x10 && (offset + FDT_PROP_HEADER_SIZE) % 8 !== 0 && len >= 8) valuePos += 4;
  return { offset, pos, len, nameoff: be32(fdt, pos + 8) | 0, valuePos };
}

/** fdt_get_property_by_offset: the property at a property offset, or FDT_ERR_BADOFFSET. */
export function getPropByOffsetRc(fdt: Uint8Array, offset: number): RawProp | number {
  const o = checkPropOffset(fdt, offset);
  return o < 0 ? o : rawPropAt(fdt, offset);
}

/** fdt_get_property_namelen / fdt_getprop_namelen in one: the property or a negative code. */
export function getPropRc(fdt: Uint8Array, node: number, name: Uint8Array): RawProp | number {
  let offset: number;
  for (offset = firstPropertyOffsetRc(fdt, node); offset >= 0; offset = nextPropertyOffsetRc(fdt, offset)) {
    const prop = rawPropAt(fdt, offset);
    if (stringEq(fdt, prop.nameoff, name)) return prop;
  }
  return offset;
}

/** The same lookup as libfdt's fdt_get_property_w, which refuses pre-v16 blobs. */
export function getPropertyWRc(fdt: Uint8Array, node: number, name: Uint8Array): RawProp | number {
  if (hword(fdt, HDR.version) < 0x10) return E_BADVERSION;
  return getPropRc(fdt, node, name);
}

// ---------------------------------------------------------------------------
// Public, throwing API

export interface FdtProperty {
  /** Struct offset of the property's PROP tag. */
  readonly offset: number;
  readonly name: string;
  /** Value length (the `len` word). */
  readonly len: number;
  /** The value bytes: a view into the blob, not a copy. */
  readonly value: Uint8Array;
}

function where(node: number): string {
  return `node offset ${node}`;
}

/** fdt_next_node over the whole tree; `depth` follows libfdt's counting. */
export function nextNode(fdt: Uint8Array, offset: number, depth = 0): { offset: number; depth: number } {
  const box: DepthBox = { d: depth };
  const o = fdtCheck(nextNodeRc(fdt, offset, box), "no next node", where(offset));
  return { offset: o, depth: box.d };
}

/** Name of the node at a struct offset (the root's is ""). */
export function getName(fdt: Uint8Array, nodeOffset: number): string {
  const r = getNameRc(fdt, nodeOffset);
  if (typeof r === "number") throw new FdtError(fdtErrName(r), "not a node", where(nodeOffset));
  return decodeBytes(fdt.subarray(r.pos, r.pos + r.len));
}

/** First child of a node; FDT_ERR_NOTFOUND when it has none. */
export function firstSubnode(fdt: Uint8Array, offset: number): number {
  return fdtCheck(firstSubnodeRc(fdt, offset), "node has no subnode", where(offset));
}

/** Next sibling; FDT_ERR_NOTFOUND after the last. */
export function nextSubnode(fdt: Uint8Array, offset: number): number {
  return fdtCheck(nextSubnodeRc(fdt, offset), "node has no further sibling", where(offset));
}

/** Offsets of a node's children in document order; corrupt structure throws. */
export function* subnodes(fdt: Uint8Array, parent: number): Generator<number, void, void> {
  // A walk of untrusted structure needs a bound: each step advances at least
  // one tag, so there cannot be more children than struct bytes / 8.
  let budget = fdt.length / 8 + 1;
  for (let o = firstSubnodeRc(fdt, parent); o !== E_NOTFOUND; o = nextSubnodeRc(fdt, o)) {
    fdtCheck(o, "bad subnode walk", where(parent));
    if (--budget < 0) throw new FdtError("FDT_ERR_BADSTRUCTURE", "subnode walk does not end", where(parent));
    yield o;
  }
}

/** Child of `parent` named `name`; a name without `@` also matches `name@unit`. */
export function subnodeOffset(fdt: Uint8Array, parent: number, name: string): number {
  return fdtCheck(subnodeOffsetRc(fdt, parent, cstr(name)), `no subnode "${name}"`, where(parent));
}

/** Offset of the node at `path` ("/" is the root, aliases resolve through /aliases). */
export function pathOffset(fdt: Uint8Array, path: string): number {
  return fdtCheck(pathOffsetRc(fdt, cstr(path)), `no node at "${path}"`, path);
}

function toProperty(fdt: Uint8Array, r: RawProp, name?: string): FdtProperty {
  return {
    offset: r.offset,
    name: name ?? getString(fdt, r.nameoff),
    len: r.len,
    value: fdt.subarray(r.valuePos, r.valuePos + r.len),
  };
}

/** fdt_getprop: the property's value; FDT_ERR_NOTFOUND when the node lacks it. */
export function getprop(fdt: Uint8Array, node: number, name: string): FdtProperty {
  const r = getPropRc(fdt, node, cstr(name));
  if (typeof r === "number") throw new FdtError(fdtErrName(r), `no property "${name}"`, where(node));
  return toProperty(fdt, r, name);
}

/** Like getprop, but a missing property is `undefined`; other failures still throw. */
export function findProp(fdt: Uint8Array, node: number, name: string): FdtProperty | undefined {
  const r = getPropRc(fdt, node, cstr(name));
  if (r === E_NOTFOUND) return undefined;
  if (typeof r === "number") throw new FdtError(fdtErrName(r), `cannot read property "${name}"`, where(node));
  return toProperty(fdt, r, name);
}

/** The properties of a node in order. */
export function* properties(fdt: Uint8Array, node: number): Generator<FdtProperty, void, void> {
  let o: number;
  for (o = firstPropertyOffsetRc(fdt, node); o >= 0; o = nextPropertyOffsetRc(fdt, o)) {
    yield toProperty(fdt, rawPropAt(fdt, o));
  }
  if (o !== E_NOTFOUND) fdtCheck(o, "bad property walk", where(node));
}

/**
 * fdt_stringlist_contains over bytes of the blob: `listPos`/`listLen` locate
 * the value. Like libfdt it compares strlen(str)+1 bytes, so a value lacking
 * its final NUL still matches when the next byte in the blob is zero.
 */
function stringlistContainsAt(fdt: Uint8Array, listPos: number, listLen: number, s: Uint8Array): boolean {
  const len = s.length;
  let p = listPos;
  while (listLen >= len) {
    let eq = true;
    for (let i = 0; i <= len && eq; i++) eq = fdt[p + i] === (i < len ? s[i] : 0);
    if (eq) return true;
    let nul = -1;
    for (let i = 0; i < listLen; i++) {
      if (fdt[p + i] === 0) {
        nul = i;
        break;
      }
    }
    if (nul < 0) return false;
    listLen -= nul + 1;
    p += nul + 1;
  }
  return false;
}

/** fdt_stringlist_contains on a standalone value. */
export function stringlistContains(list: Uint8Array, str: string): boolean {
  return stringlistContainsAt(list, 0, list.length, cstr(str));
}

/** fdt_node_check_compatible as a libfdt return code: 0 match, 1 no match, negative error. */
export function nodeCheckCompatibleRc(fdt: Uint8Array, node: number, compatible: string): number {
  const r = getPropRc(fdt, node, cstr("compatible"));
  if (typeof r === "number") return r;
  return stringlistContainsAt(fdt, r.valuePos, r.len, cstr(compatible)) ? 0 : 1;
}

/**
 * Whether the node's "compatible" list holds `compatible`. A node without the
 * property throws FDT_ERR_NOTFOUND (libfdt returns that error, not "no match").
 */
export function nodeCheckCompatible(fdt: Uint8Array, node: number, compatible: string): boolean {
  return fdtCheck(nodeCheckCompatibleRc(fdt, node, compatible), "no compatible property", where(node)) === 0;
}

/** fdt_num_mem_rsv as a return code. */
export function numMemRsvRc(fdt: Uint8Array): number {
  const base = hword(fdt, HDR.off_mem_rsvmap);
  const total = hword(fdt, HDR.totalsize);
  for (let i = 0; ; i++) {
    const abs = base + i * 16;
    if (abs > total - 16 || abs + 16 > fdt.length) return E_TRUNCATED;
    if (be32(fdt, abs + 8) === 0 && be32(fdt, abs + 12) === 0) return i;
  }
}

/** Number of memory reservation entries before the terminator. */
export function numMemRsv(fdt: Uint8Array): number {
  return fdtCheck(numMemRsvRc(fdt), "reserve map runs past the blob");
}

/** Entry `n` of the memory reservation map (fdt_get_mem_rsv). */
export function getMemRsv(fdt: Uint8Array, n: number): { address: bigint; size: bigint } {
  fdtCheck(roProbe(fdt), "not a devicetree");
  const abs = hword(fdt, HDR.off_mem_rsvmap) + n * 16;
  if (n < 0 || abs > hword(fdt, HDR.totalsize) - 16 || abs + 16 > fdt.length) {
    throw new FdtError("FDT_ERR_BADOFFSET", "reserve entry outside the blob", `rsvmap entry ${n}`);
  }
  return { address: be64(fdt, abs), size: be64(fdt, abs + 8) };
}
