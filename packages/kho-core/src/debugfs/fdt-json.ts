import { checkFull, FdtView, nodeNameAt, propAt, stepTag } from "../fdt/check.js";
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_PROP } from "../fdt/constants.js";
import { FdtError } from "../fdt/errors.js";
import { hex } from "../units.js";

/**
 * How much of an unidentified FDT blob a debugfs report shows. A blob's
 * depth and width are its author's choice; the report keeps the first
 * nodes and properties in document order and counts the rest, so its size
 * (and JSON.stringify's recursion) stays bounded whatever the blob holds.
 */
export const FDT_JSON_LIMITS = {
  /** Nodes deeper than this (the root is depth 0) are counted, not shown: libfdt's FDT_MAX_DEPTH. */
  depth: 64,
  /** Nodes shown in all. */
  nodes: 4096,
  /** Properties shown in all. */
  props: 16384,
  /** Bytes of one value shown; a longer value is shown by its head, with `truncated`. */
  valueBytes: 256,
} as const;

export interface FdtJsonNode {
  readonly name: string;
  readonly props: readonly FdtJsonProp[];
  readonly children: readonly FdtJsonNode[];
  /** What lies under this node beyond the limits: nodes and properties counted, not shown. */
  readonly omitted?: { readonly nodes: number; readonly props: number };
}

/** A property shown every way it plausibly reads: string, CPU-native u32/u64 by length, hex. */
export interface FdtJsonProp {
  readonly name: string;
  readonly length: number;
  readonly string?: string;
  readonly u32?: number;
  readonly u64?: string;
  /** The value's bytes, at most FDT_JSON_LIMITS.valueBytes of them. */
  readonly hex: string;
  /** Present when `hex` holds only the head of a longer value. */
  readonly truncated?: true;
}

/** The bounded JSON form of a checked FDT and what it left out. */
export interface FdtJsonTree {
  readonly totalsize: number;
  readonly compatible: string | null;
  readonly root: FdtJsonNode;
  /** Present when the limits left something out: how much, in words. */
  readonly note?: string;
}

const latin1 = new TextDecoder("latin1");

export function hexBytes(b: Uint8Array, max = b.length): string {
  return Array.from(b.subarray(0, max), (x) => x.toString(16).padStart(2, "0")).join("");
}

/** A printable NUL-terminated string list, else undefined. */
function asString(v: Uint8Array): string | undefined {
  if (v.length === 0 || v[v.length - 1] !== 0) return undefined;
  for (const b of v.subarray(0, -1)) if (b !== 0 && (b < 0x20 || b > 0x7e)) return undefined;
  return latin1.decode(v.subarray(0, -1)).split("\0").join('", "');
}

/** A value as a string list when it is one, else hex; long values by their head. */
export function shownString(v: Uint8Array): string {
  const l = FDT_JSON_LIMITS.valueBytes;
  return (v.length <= l ? asString(v) : undefined) ?? hexBytes(v, l);
}

function propJson(name: string, v: Uint8Array): FdtJsonProp {
  if (v.length > FDT_JSON_LIMITS.valueBytes)
    return { name, length: v.length, hex: hexBytes(v, FDT_JSON_LIMITS.valueBytes), truncated: true };
  const s = asString(v);
  const dv = new DataView(v.buffer, v.byteOffset, v.length);
  return {
    name,
    length: v.length,
    ...(s !== undefined ? { string: s } : {}),
    ...(v.length === 4 ? { u32: dv.getUint32(0, true) } : {}),
    ...(v.length === 8 ? { u64: hex(dv.getBigUint64(0, true)) } : {}),
    hex: hexBytes(v),
  };
}

interface Building {
  readonly name: string;
  readonly props: FdtJsonProp[];
  readonly children: Building[];
  omitted?: { nodes: number; props: number };
}

function countOmitted(holder: Building, nodes: number, props: number): void {
  holder.omitted ??= { nodes: 0, props: 0 };
  holder.omitted.nodes += nodes;
  holder.omitted.props += props;
}

function at(offset: number): string {
  return `struct offset 0x${offset.toString(16)}`;
}

/**
 * The blob as a JSON tree within FDT_JSON_LIMITS, after fdt_check_full's
 * checks. One pass over the struct block with an explicit stack: time is
 * linear in the blob, memory is the blob plus the shown part plus one
 * stack slot per level.
 */
export function fdtJson(blob: Uint8Array): FdtJsonTree {
  checkFull(blob);
  const v = new FdtView(blob);
  // Each open node: the node shown for it, or the nearest shown ancestor that counts it.
  const stack: { node: Building; shown: boolean }[] = [];
  let root: Building | undefined;
  let shownNodes = 0;
  let shownProps = 0;
  let hiddenNodes = 0;
  let hiddenProps = 0;
  let compatible: string | null = null;
  // checkFull proved the walk ends at FDT_END with every node closed.
  for (let offset = 0; ; ) {
    const step = stepTag(v, offset);
    if (typeof step.next === "string") throw new FdtError(step.next, "struct walk failed", at(offset));
    if (step.tag === FDT_END) break;
    if (step.tag === FDT_BEGIN_NODE) {
      const name = nodeNameAt(v, offset);
      if (typeof name === "string") throw new FdtError(name, "unreadable node name", at(offset));
      const parent = stack[stack.length - 1];
      if (!parent) {
        root = { name: latin1.decode(name), props: [], children: [] };
        shownNodes++;
        stack.push({ node: root, shown: true });
      } else if (parent.shown && stack.length <= FDT_JSON_LIMITS.depth && shownNodes < FDT_JSON_LIMITS.nodes) {
        const node: Building = { name: latin1.decode(name), props: [], children: [] };
        parent.node.children.push(node);
        shownNodes++;
        stack.push({ node, shown: true });
      } else {
        countOmitted(parent.node, 1, 0);
        hiddenNodes++;
        stack.push({ node: parent.node, shown: false });
      }
    } else if (step.tag === FDT_END_NODE) {
      stack.pop();
    } else if (step.tag === FDT_PROP) {
      const p = propAt(v, offset);
      if (typeof p === "string") throw new FdtError(p, "bad property", at(offset));
      if (p.valueAt + p.len > blob.length)
        throw new FdtError("FDT_ERR_TRUNCATED", `property length ${p.len} runs past the blob`, at(offset));
      const top = stack[stack.length - 1]!;
      const value = blob.subarray(p.valueAt, p.valueAt + p.len);
      const name = latin1.decode(p.name);
      if (stack.length === 1 && name === "compatible" && compatible === null) compatible = shownString(value);
      if (top.shown && shownProps < FDT_JSON_LIMITS.props) {
        top.node.props.push(propJson(name, value));
        shownProps++;
      } else {
        countOmitted(top.node, 0, 1);
        hiddenProps++;
      }
    }
    offset = step.next;
  }
  if (!root) throw new FdtError("FDT_ERR_BADSTRUCTURE", "no root node", at(0));
  const l = FDT_JSON_LIMITS;
  return {
    totalsize: v.totalsize,
    compatible,
    root,
    ...(hiddenNodes || hiddenProps
      ? {
          note:
            `shown to depth ${l.depth}, at most ${l.nodes} nodes and ${l.props} properties: ` +
            `${hiddenNodes} node(s) and ${hiddenProps} propert(ies) omitted (counted under "omitted")`,
        }
      : {}),
  };
}
