import { checkFull, countMemReserve, FdtView, headerOf, nodeNameAt, propAt, stepTag } from "./check.js";
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_PROP, FDT_RESERVE_ENTRY_SIZE } from "./constants.js";
import { FdtError } from "./errors.js";
import type { FdtHeader } from "./header.js";

export interface FdtProp {
  /** Property name bytes decoded as Latin-1, so every byte maps to one char. */
  name: string;
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

/** Bytes to a string with one char per byte (Latin-1), lossless both ways. */
export function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x2000) s += String.fromCharCode(...bytes.subarray(i, i + 0x2000));
  return s;
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

/**
 * Decodes a DTB after checking it like fdt_check_full. Properties keep their
 * document order, including any that follow a subnode; values are copies.
 * Names follow libfdt's view (the leaf name, also for pre-v16 full paths).
 */
export function parseFdt(blob: Uint8Array): FdtTree {
  checkFull(blob);
  const v = new FdtView(blob);
  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  let offset = 0;
  // checkFull proved the walk terminates at FDT_END with balanced nodes.
  for (;;) {
    const step = stepTag(v, offset);
    if (typeof step.next === "string")
      throw new FdtError(step.next, "struct walk failed", `struct offset 0x${offset.toString(16)}`);
    if (step.tag === FDT_BEGIN_NODE) {
      const name = nodeNameAt(v, offset);
      if (typeof name === "string")
        throw new FdtError(name, "unreadable node name", `struct offset 0x${offset.toString(16)}`);
      const node: FdtNode = { name: latin1(name), props: [], children: [] };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(node);
      else root = node;
      stack.push(node);
    } else if (step.tag === FDT_END_NODE) {
      stack.pop();
    } else if (step.tag === FDT_PROP) {
      const p = propAt(v, offset);
      if (typeof p === "string") throw new FdtError(p, "bad property", `struct offset 0x${offset.toString(16)}`);
      // libfdt's bound check wraps for such lengths and lets them through;
      // there are no bytes to return, so the decoder refuses the blob.
      if (p.valueAt + p.len > blob.length)
        throw new FdtError(
          "FDT_ERR_TRUNCATED",
          `property length ${p.len} runs past the blob`,
          `struct offset 0x${offset.toString(16)}`,
        );
      stack[stack.length - 1]!.props.push({ name: latin1(p.name), value: blob.slice(p.valueAt, p.valueAt + p.len) });
    } else if (step.tag === FDT_END) {
      break;
    }
    offset = step.next;
  }
  if (!root) throw new FdtError("FDT_ERR_BADSTRUCTURE", "no root node", "struct offset 0x0");
  return { header: headerOf(v), memreserve: memReserveOf(v), root };
}
