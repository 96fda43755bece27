import { FdtView } from "./check.js";
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_NOP,
  FDT_PROP,
  FDT_RESERVE_ENTRY_SIZE,
  FDT_V1_SIZE,
} from "./constants.js";
import { DtsError } from "./dts-error.js";
import { cstr, type DtsNode, type DtsTree, NameTable, newNode, PropRows } from "./dts-tree.js";
import { type FdtMemReserve, latin1 } from "./parse.js";

/*
 * dtc 1.6.1's own blob reader (flattree.c), which is stricter than libfdt in
 * places: it wants the root node first and FDT_END right after it.
 */

function die(message: string, where?: string): never {
  throw new DtsError(message, where);
}

/** A bounded cursor over [base, limit) like dtc's struct inbuf. */
class Inbuf {
  ptr: number;
  constructor(
    readonly v: FdtView,
    readonly base: number,
    readonly limit: number,
  ) {
    this.ptr = base;
  }
  word(): number {
    if (this.ptr + 4 > this.limit) die("Premature end of data parsing flat device tree");
    const w = this.v.u32(this.ptr);
    this.ptr += 4;
    return w;
  }
  realign(a: number): void {
    const off = this.ptr - this.base;
    this.ptr = this.base + Math.ceil(off / a) * a;
    if (this.ptr > this.limit) die("Premature end of data parsing flat device tree");
  }
  string(): Uint8Array {
    const start = this.ptr;
    let p = start;
    for (;;) {
      if (p >= this.limit) die("Premature end of data parsing flat device tree");
      if (this.v.byte(p++) === 0) break;
    }
    this.ptr = p;
    this.realign(4);
    return this.v.buf.subarray(start, p - 1);
  }
  /** Skips a value of `len` bytes and returns where it starts. */
  data(len: number): number {
    const at = this.ptr;
    if (len === 0) return at;
    if (this.ptr + len > this.limit) die("Premature end of data parsing flat device tree");
    this.ptr += len;
    this.realign(4);
    return at;
  }
}

function startsWith(s: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > s.length) return false;
  for (let i = 0; i < prefix.length; i++) if (s[i] !== prefix[i]) return false;
  return true;
}

interface Open {
  node: DtsNode;
  flatname: Uint8Array;
}

/** dtc's dt_from_blob for a blob libfdt already accepted; values stay in the blob. */
export function dtcReadBlob(blob: Uint8Array): DtsTree {
  const v = new FdtView(blob);
  // Names decode byte for byte (Latin-1) through one Buffer view of the blob, natively.
  const text = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const latin1Of = (b: Uint8Array): string =>
    text.toString("latin1", b.byteOffset - blob.byteOffset, b.byteOffset - blob.byteOffset + b.length);
  const total = v.totalsize;
  if (total < FDT_V1_SIZE) die(`DT blob size (${total}) is too small`);
  if (blob.length < total) die(`EOF before reading ${total} bytes of DT blob`);
  if (v.offRsvmap >= total) die("Mem Reserve structure offset exceeds total size");
  if (v.offStruct >= total) die("DT structure offset exceeds total size");
  if (v.offStrings > total) die("String table offset exceeds total size");
  let strLimit = total;
  if (v.version >= 3) {
    const end = v.offStrings + v.sizeStrings;
    if (end > 0xffffffff || end > total) die("String table extends past total size");
    strLimit = end;
  }
  if (v.version >= 17) {
    const end = v.offStruct + v.sizeStruct;
    if (end > 0xffffffff || end > total) die("Structure block extends past total size");
  }
  const fullpath = v.version < 16;

  const rsv = new Inbuf(v, v.offRsvmap, total);
  const memreserve: FdtMemReserve[] = [];
  for (;;) {
    if (rsv.ptr + FDT_RESERVE_ENTRY_SIZE > rsv.limit) die("Premature end of data parsing flat device tree");
    const address = v.u64(rsv.ptr);
    const size = v.u64(rsv.ptr + 8);
    rsv.ptr += FDT_RESERVE_ENTRY_SIZE;
    if (size === 0n) break;
    memreserve.push({ address, size });
  }

  const dt = new Inbuf(v, v.offStruct, total);
  const first = dt.word();
  if (first !== FDT_BEGIN_NODE)
    die(`Device tree blob doesn't begin with FDT_BEGIN_NODE (begins with 0x${first.toString(16).padStart(8, "0")})`);

  // Property names by string offset: a blob names millions of properties with a handful of strings.
  const table = new NameTable();
  const props = new PropRows();
  const byOffset = new Map<number, number>();
  const nameAt = (stroff: number): number => {
    const off = stroff | 0;
    const known = byOffset.get(off);
    if (known !== undefined) return known;
    const start = v.offStrings + off;
    for (let p = start; ; p++) {
      if (p >= strLimit || p < v.offStrings) die(`String offset ${off} overruns string table`);
      if (v.byte(p) === 0) {
        const i = table.of(text.toString("latin1", start, p));
        byOffset.set(off, i);
        return i;
      }
    }
  };

  const openNode = (parent: Open | null): Open => {
    const flatname = dt.string();
    let name = flatname;
    if (fullpath) {
      const ppath = parent?.flatname ?? new Uint8Array(0);
      if (!startsWith(flatname, ppath)) die(`Path "${latin1(flatname)}" is not valid as a child of "${latin1(ppath)}"`);
      const isRootParent = ppath.length === 1 && ppath[0] === 0x2f;
      const plen = ppath.length + (isRootParent ? 0 : 1);
      // Past the end dtc would read beyond the string; no defined output exists.
      if (plen > flatname.length) die(`Path "${latin1(flatname)}" has no node name after "${latin1(ppath)}"`);
      name = flatname.subarray(plen);
    }
    return { node: newNode(cstr(latin1Of(name)), parent?.node ?? null), flatname };
  };

  // An explicit stack instead of dtc's recursion keeps deep blobs safe.
  const root = openNode(null);
  const stack: Open[] = [root];
  while (stack.length > 0) {
    const cur = stack[stack.length - 1]!;
    const tag = dt.word();
    switch (tag) {
      case FDT_PROP: {
        const len = dt.word();
        const name = nameAt(dt.word());
        if (fullpath && len >= 8) dt.realign(8);
        // dtc keeps the length in an int: from 2^31 on it goes negative and
        // dtc's bound check passes before its copy faults, so nothing is printed.
        if (len >= 0x80000000) die(`property length 0x${len.toString(16)} is negative for dtc`);
        props.add(cur.node, name, dt.data(len), len);
        break;
      }
      case FDT_BEGIN_NODE: {
        stack.push(openNode(cur));
        break;
      }
      case FDT_END_NODE:
        stack.pop();
        break;
      case FDT_END:
        return die("Premature FDT_END in device tree blob");
      case FDT_NOP:
        break;
      default:
        die(`Invalid opcode word ${tag.toString(16).padStart(8, "0")} in device tree blob`);
    }
  }
  if (dt.word() !== FDT_END) die("Device tree blob doesn't end with FDT_END");
  return { bytes: blob, names: table.names, props, memreserve, root: root.node };
}
