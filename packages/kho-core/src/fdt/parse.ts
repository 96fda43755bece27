import { checkFull, countMemReserve, FdtView, headerOf } from "./check.js";
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_PROP, FDT_RESERVE_ENTRY_SIZE, FDT_TAGSIZE } from "./constants.js";
import { FdtError } from "./errors.js";
import { be32, type FdtHeader } from "./header.js";
import { FDT_PROP_HEADER_SIZE, tagAlign } from "./ro.js";

export interface FdtProp {
  /** Property name bytes decoded as Latin-1, so every byte maps to one char. */
  name: string;
  /** A copy of the value: a view of parseFdt's one copy of the blob (mind byteOffset). */
  value: Uint8Array;
}

export interface FdtNode {
  /** Node name (unit address included) as Latin-1; "" for the root. */
  name: string;
  props: FdtProp[];
  children: FdtNode[];
}

export interface FdtMemReserve {
  address: bigint;
  size: bigint;
}

export interface FdtTree {
  header: FdtHeader;
  memreserve: FdtMemReserve[];
  root: FdtNode;
}

/** Bytes start..end of `b` as a string with one char per byte (Latin-1), lossless both ways. */
export function latin1Range(b: Uint8Array, start: number, end: number): string {
  // One fromCharCode call per 8 KiB (a name takes one) on a view: a char at a time would leave a string of
  // garbage per char, and spreading goes through the iterator. Garbage matters to parseFdt: each scavenge
  // copies the whole tree built so far.
  let s = "";
  for (let i = start; i < end; i += 0x2000) {
    s += Reflect.apply(String.fromCharCode, null, b.subarray(i, Math.min(i + 0x2000, end))) as string;
  }
  return s;
}

/** Bytes to a string with one char per byte (Latin-1), lossless both ways. */
export function latin1(bytes: Uint8Array): string {
  return latin1Range(bytes, 0, bytes.length);
}

export function memReserveOf(v: FdtView): FdtMemReserve[] {
  const n = countMemReserve(v);
  const out: FdtMemReserve[] = [];
  for (let i = 0; i < n; i++) {
    const at = v.offRsvmap + i * FDT_RESERVE_ENTRY_SIZE;
    out.push({ address: v.u64(at), size: v.u64(at + 8) });
  }
  return out;
}

/** Pre-v16 blobs pad values of 8 bytes or more to an 8-byte boundary: the bytes skipped before the value. */
function valuePad(old: boolean, offset: number, len: number): number {
  return old && len >= 8 && (offset + FDT_PROP_HEADER_SIZE) % 8 !== 0 ? 4 : 0;
}

const at16 = (offset: number): string => `struct offset 0x${offset.toString(16)}`;

/**
 * The number of properties and of children of each node, by node number in
 * document order (two entries a node), over a walk checkFull has proven.
 * Refuses what fdt_check_full lets through but no tree can hold: a property
 * outside any node, a length that wraps libfdt's bound check (no bytes exist
 * for it), no root node.
 */
function memberCounts(blob: Uint8Array, base: number, old: boolean): number[] {
  // A plain array sized by the nodes found, not a typed one sized by the blob: a large ArrayBuffer per
  // parse counts as external memory, which brings on full collections.
  const counts: number[] = [];
  const open: number[] = [];
  let nodes = 0;
  let offset = 0;
  for (;;) {
    const at = base + offset;
    const tag = be32(blob, at);
    if (tag === FDT_BEGIN_NODE) {
      const parent = open[open.length - 1];
      if (parent !== undefined) counts[2 * parent + 1]!++;
      counts.push(0, 0);
      open.push(nodes++);
      offset = tagAlign(blob.indexOf(0, at + FDT_TAGSIZE) + 1 - base);
    } else if (tag === FDT_PROP) {
      const len = be32(blob, at + 4);
      const pad = valuePad(old, offset, len);
      // libfdt's bound check wraps for such lengths and lets them through;
      // there are no bytes to return, so the decoder refuses the blob.
      if (at + FDT_PROP_HEADER_SIZE + pad + len > blob.length)
        throw new FdtError("FDT_ERR_TRUNCATED", `property length ${len} runs past the blob`, at16(offset));
      const owner = open[open.length - 1];
      // fdt_check_full lets a property stand before the root node; a tree has no place for it.
      if (owner === undefined) throw new FdtError("FDT_ERR_BADSTRUCTURE", "property outside any node", at16(offset));
      counts[2 * owner]!++;
      offset = tagAlign(offset + FDT_PROP_HEADER_SIZE + pad + len);
    } else if (tag === FDT_END) {
      if (nodes === 0) throw new FdtError("FDT_ERR_BADSTRUCTURE", "no root node", at16(0));
      return counts;
    } else {
      // FDT_END_NODE, and FDT_NOP, which carries nothing.
      if (tag === FDT_END_NODE) open.pop();
      offset += FDT_TAGSIZE;
    }
  }
}

/**
 * Decodes a DTB after checking it like fdt_check_full. Properties keep their
 * document order, including any that follow a subnode. Values are copies of
 * the input: views of one copy of the blob taken here. Names follow libfdt's
 * view (the leaf name, also for pre-v16 full paths).
 */
export function parseFdt(blob: Uint8Array): FdtTree {
  checkFull(blob);
  const v = new FdtView(blob);
  // checkFull proved the walk libfdt's fdt_next_tag takes: every tag, name and
  // value lies whole inside the struct block and the walk ends at FDT_END with
  // balanced nodes; every property name has its NUL. So these walks read the
  // bytes directly, taking the same steps (pre-v16 padding included).
  const base = v.offStruct;
  const old = v.version < 0x10;
  // Arrays are made at their final size: grown by push, each would hold 16 slots or more, and the tree is
  // what every scavenge during the parse copies (most of its time for a large blob).
  const counts = memberCounts(blob, base, old);
  const data = blob.slice().buffer;
  // A blob names few properties many times: decode each name offset once.
  const propNames = new Map<number, string>();
  // The open nodes, and how many properties and children each holds so far (numbers, not a record per node:
  // less garbage, fewer scavenges).
  const stack: FdtNode[] = [];
  const filled: number[] = [];
  let nodes = 0;
  let root: FdtNode | undefined;
  let offset = 0;
  for (;;) {
    const at = base + offset;
    const tag = be32(blob, at);
    if (tag === FDT_BEGIN_NODE) {
      const nul = blob.indexOf(0, at + FDT_TAGSIZE);
      let start = at + FDT_TAGSIZE;
      if (old) {
        // Pre-v16 names are full paths; libfdt's name is what follows the last '/'.
        const slash = blob.lastIndexOf(0x2f, nul);
        if (slash < start) throw new FdtError("FDT_ERR_BADSTRUCTURE", "unreadable node name", at16(offset));
        start = slash + 1;
      }
      const n = nodes++;
      const node: FdtNode = {
        name: latin1Range(blob, start, nul),
        props: new Array<FdtProp>(counts[2 * n]!),
        children: new Array<FdtNode>(counts[2 * n + 1]!),
      };
      const depth = stack.length;
      if (depth > 0) stack[depth - 1]!.children[filled[2 * depth - 1]!++] = node;
      else root = node;
      stack.push(node);
      filled.push(0, 0);
      offset = tagAlign(nul + 1 - base);
    } else if (tag === FDT_PROP) {
      const len = be32(blob, at + 4);
      const nameoff = be32(blob, at + 8);
      const pad = valuePad(old, offset, len);
      let name = propNames.get(nameoff);
      if (name === undefined) {
        const from = v.offStrings + nameoff;
        name = latin1Range(blob, from, blob.indexOf(0, from));
        propNames.set(nameoff, name);
      }
      const depth = stack.length;
      const value = new Uint8Array(data, at + FDT_PROP_HEADER_SIZE + pad, len);
      stack[depth - 1]!.props[filled[2 * depth - 2]!++] = { name, value };
      offset = tagAlign(offset + FDT_PROP_HEADER_SIZE + pad + len);
    } else if (tag === FDT_END) {
      break;
    } else {
      if (tag === FDT_END_NODE) {
        stack.pop();
        filled.length -= 2;
      }
      offset += FDT_TAGSIZE;
    }
  }
  return { header: headerOf(v), memreserve: memReserveOf(v), root: root! };
}
