import { KhoError } from "../errors.js";
import { checkFull, FdtView, headerOf } from "./check.js";
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_NOP,
  FDT_PROP,
  FDT_RESERVE_ENTRY_SIZE,
  FDT_V1_SIZE,
} from "./constants.js";
import { type FdtMemReserve, type FdtNode, type FdtTree, latin1 } from "./parse.js";
import { joinChunks, TextChunks, VALUE_SLICE } from "./chunks.js";

/*
 * DTS text exactly as `dtc -I dtb -O dts` (dtc 1.6.1) prints it. Three stages
 * mirror dtc: its own blob reader (which is stricter than libfdt in places,
 * e.g. it wants the root node first and FDT_END right after it), the checks
 * dtc treats as errors (it then prints nothing), and the source writer with
 * its guess of how each value was written.
 */

/** dtc refused the input: it would print this message and no DTS at all. */
export class DtsError extends KhoError {
  override readonly name = "DtsError";
  constructor(message: string, where?: string) {
    super("EINVAL", message, where);
  }
}

function die(message: string, where?: string): never {
  throw new DtsError(message, where);
}

// ---------------------------------------------------------------- reader

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
  data(len: number): Uint8Array {
    if (len === 0) return new Uint8Array(0);
    if (this.ptr + len > this.limit) die("Premature end of data parsing flat device tree");
    // A view, not a copy: the blob outlives the tree, and a copy doubles the memory of a large blob.
    const d = this.v.buf.subarray(this.ptr, this.ptr + len);
    this.ptr += len;
    this.realign(4);
    return d;
  }
}

interface ReadNode {
  node: FdtNode;
  flatname: Uint8Array;
}

function startsWith(s: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > s.length) return false;
  for (let i = 0; i < prefix.length; i++) if (s[i] !== prefix[i]) return false;
  return true;
}

/** dtc's dt_from_blob for a blob libfdt already accepted. */
export function dtcReadBlob(blob: Uint8Array): FdtTree {
  const v = new FdtView(blob);
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

  const readStringTable = (stroff: number): Uint8Array => {
    const off = stroff | 0;
    const start = v.offStrings + off;
    for (let p = start; ; p++) {
      if (p >= strLimit || p < v.offStrings) die(`String offset ${off} overruns string table`);
      if (v.byte(p) === 0) return blob.subarray(start, p);
    }
  };

  // An explicit stack instead of dtc's recursion keeps deep blobs safe.
  const openNode = (parentFlat: Uint8Array | null): ReadNode => {
    const flatname = dt.string();
    let name = flatname;
    if (fullpath) {
      const ppath = parentFlat ?? new Uint8Array(0);
      if (!startsWith(flatname, ppath)) die(`Path "${latin1(flatname)}" is not valid as a child of "${latin1(ppath)}"`);
      const isRootParent = ppath.length === 1 && ppath[0] === 0x2f;
      const plen = ppath.length + (isRootParent ? 0 : 1);
      // Past the end dtc would read beyond the string; no defined output exists.
      if (plen > flatname.length) die(`Path "${latin1(flatname)}" has no node name after "${latin1(ppath)}"`);
      name = flatname.subarray(plen);
    }
    return { node: { name: latin1(name), props: [], children: [] }, flatname };
  };

  const root = openNode(null);
  const stack: ReadNode[] = [root];
  while (stack.length > 0) {
    const cur = stack[stack.length - 1]!;
    const tag = dt.word();
    switch (tag) {
      case FDT_PROP: {
        const len = dt.word();
        const stroff = dt.word();
        const name = readStringTable(stroff);
        if (fullpath && len >= 8) dt.realign(8);
        // dtc keeps the length in an int: from 2^31 on it goes negative and
        // dtc's bound check passes before its copy faults, so nothing is printed.
        if (len >= 0x80000000) die(`property length 0x${len.toString(16)} is negative for dtc`);
        const value = dt.data(len);
        cur.node.props.push({ name: latin1(name), value });
        break;
      }
      case FDT_BEGIN_NODE: {
        const child = openNode(cur.flatname);
        cur.node.children.push(child.node);
        stack.push(child);
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
  return {
    header: headerOf(v),
    memreserve,
    root: root.node,
  };
}

// ---------------------------------------------------------------- checks

const NODECHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._+-@";
const PROPCHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._+*#?-";

/** C string view of a name: dtc stores names with strdup, so a NUL ends them. */
function cstr(s: string): string {
  const z = s.indexOf("\0");
  return z < 0 ? s : s.slice(0, z);
}

function firstBad(s: string, allowed: string): number {
  for (let i = 0; i < s.length; i++) if (!allowed.includes(s[i]!)) return i;
  return -1;
}

function isOneString(v: Uint8Array): boolean {
  if (v.length === 0) return false;
  for (let i = 0; i < v.length - 1; i++) if (v[i] === 0) return false;
  return v[v.length - 1] === 0;
}

function cell(v: Uint8Array): number {
  return ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0;
}

/** A node of the tree being checked, with what dtc reaches through its parent pointer. */
interface Walked {
  node: FdtNode;
  parent: Walked | null;
}

/** Nodes in document order, walked with an explicit stack: depth comes from the input. */
function walk(root: FdtNode): Walked[] {
  const out: Walked[] = [];
  const stack: Walked[] = [{ node: root, parent: null }];
  while (stack.length > 0) {
    const w = stack.pop()!;
    out.push(w);
    for (let i = w.node.children.length - 1; i >= 0; i--) stack.push({ node: w.node.children[i]!, parent: w });
  }
  return out;
}

/** The node's path as dtc prints it, built only for a message: a path per node would cost depth squared. */
function pathOf(w: Walked): string {
  const names: string[] = [];
  for (let p: Walked | null = w; p?.parent; p = p.parent) names.push(cstr(p.node.name));
  return `/${names.reverse().join("/")}`;
}

/** Copies the node lists the checks edit (a correct `name` property is dropped), iteratively. */
function copyTree(root: FdtNode): FdtNode {
  const top: FdtNode = { name: root.name, props: [...root.props], children: [] };
  const stack: [FdtNode, FdtNode][] = [[root, top]];
  while (stack.length > 0) {
    const [from, to] = stack.pop()!;
    for (const c of from.children) {
      const copy: FdtNode = { name: c.name, props: [...c.props], children: [] };
      to.children.push(copy);
      stack.push([c, copy]);
    }
  }
  return top;
}

/** Errors shown in a refusal; the rest are counted. dtc prints one line per pair of duplicates, quadratic in width. */
const SHOWN_ERRORS = 20;

class CheckErrors {
  count = 0;
  readonly shown: string[] = [];
  add(check: string, where: () => string, msg: string, times = 1): void {
    if (times <= 0) return;
    for (let i = 0; i < times && this.shown.length < SHOWN_ERRORS; i++)
      this.shown.push(`ERROR (${check}): ${where()}: ${msg}`);
    this.count += times;
  }
  message(): string {
    const more = this.count - this.shown.length;
    return `${this.shown.join("; ")}${more > 0 ? `; and ${more} more` : ""}; Input tree has errors, aborting`;
  }
}

/**
 * dtc compares every pair of names in a list and fails once per equal pair,
 * at the later one. For each entry this returns how many later entries
 * share its name: that many failures, in dtc's order, counted in linear time.
 */
function laterTwins(names: readonly string[]): number[] {
  const left = new Map<string, number>();
  for (const n of names) left.set(n, (left.get(n) ?? 0) + 1);
  return names.map((n) => {
    const k = left.get(n)! - 1;
    left.set(n, k);
    return k;
  });
}

/**
 * Runs the dtc checks that are errors by default and can fire on a tree read
 * from a blob, in dtc's order. Returns the tree as dtc would print it (a
 * correct `name` property is dropped as redundant) or throws DtsError.
 */
export function dtcCheckTree(root: FdtNode): FdtNode {
  const tree = copyTree(root);
  const nodes = walk(tree);
  const errors = new CheckErrors();

  for (const w of nodes) {
    const names = w.node.children.map((c) => cstr(c.name));
    const twins = laterTwins(names);
    // The failure names the later node of each pair; all later twins share the name.
    names.forEach((n, i) => errors.add("duplicate_node_names", () => n, "Duplicate node name", twins[i]!));
  }
  for (const w of nodes) {
    const twins = laterTwins(w.node.props.map((p) => cstr(p.name)));
    for (const k of twins) errors.add("duplicate_property_names", () => pathOf(w), "Duplicate property name", k);
  }
  let nameCharsOk = true;
  for (const w of nodes) {
    const name = cstr(w.node.name);
    const bad = firstBad(name, NODECHARS);
    if (bad >= 0) {
      nameCharsOk = false;
      errors.add("node_name_chars", () => pathOf(w), `Bad character '${name[bad]}' in node name`);
    }
  }
  if (nameCharsOk) {
    for (const w of nodes) {
      const name = cstr(w.node.name);
      const at = name.indexOf("@");
      if (at >= 0 && name.indexOf("@", at + 1) >= 0)
        errors.add("node_name_format", () => pathOf(w), "multiple '@' characters in node name");
    }
  } else {
    errors.add("node_name_format", () => "/", "Failed prerequisite 'node_name_chars'");
  }
  for (const w of nodes) {
    for (const p of w.node.props) {
      const name = cstr(p.name);
      const bad = firstBad(name, PROPCHARS);
      if (bad >= 0) errors.add("property_name_chars", () => pathOf(w), `Bad character '${name[bad]}' in property name`);
    }
  }
  let nameIsString = true;
  for (const w of nodes) {
    const p = w.node.props.find((q) => cstr(q.name) === "name");
    if (p && !isOneString(p.value)) {
      nameIsString = false;
      errors.add("name_is_string", () => pathOf(w), "property is not a string");
    }
  }
  if (nameIsString) {
    for (const w of nodes) {
      const idx = w.node.props.findIndex((q) => cstr(q.name) === "name");
      if (idx < 0) continue;
      const p = w.node.props[idx]!;
      const name = cstr(w.node.name);
      const at = name.indexOf("@");
      const base = at < 0 ? name : name.slice(0, at);
      const val = latin1(p.value);
      if (p.value.length !== base.length + 1 || val.slice(0, base.length) !== base)
        errors.add("name_properties", () => pathOf(w), `"name" property is incorrect`);
      else w.node.props.splice(idx, 1);
    }
  } else {
    errors.add("name_properties", () => "/", "Failed prerequisite 'name_is_string'");
  }
  const seen = new Map<number, Walked>();
  for (const w of nodes) {
    const pick = (pname: string): number => {
      const p = w.node.props.find((q) => cstr(q.name) === pname);
      if (!p) return 0;
      if (p.value.length !== 4) {
        errors.add("explicit_phandles", () => pathOf(w), `bad length (${p.value.length}) ${pname} property`);
        return 0;
      }
      const ph = cell(p.value);
      if (ph === 0 || ph === 0xffffffff) {
        errors.add("explicit_phandles", () => pathOf(w), `bad value (0x${ph.toString(16)}) in ${pname} property`);
        return 0;
      }
      return ph;
    };
    let ph = pick("phandle");
    const lph = pick("linux,phandle");
    if (!ph && !lph) continue;
    if (lph && ph && ph !== lph)
      errors.add("explicit_phandles", () => pathOf(w), "mismatching 'phandle' and 'linux,phandle' properties");
    if (lph && !ph) ph = lph;
    const other = seen.get(ph);
    if (other !== undefined && other !== w) {
      const at = ph;
      errors.add(
        "explicit_phandles",
        () => pathOf(w),
        `duplicated phandle 0x${at.toString(16)} (seen before at ${pathOf(other)})`,
      );
      continue;
    }
    seen.set(ph, w);
  }
  if (errors.count > 0) die(errors.message());
  interruptsAssert(nodes, seen);
  return tree;
}

/**
 * dtc's interrupts_property warning reads `interrupt-parent` and the
 * provider's `#interrupt-cells` with propval_cell, which asserts a 4-byte
 * value: dtc aborts before printing anything when either is another length.
 * The search for the interrupt parent climbs the ancestors; what an ancestor
 * resolves to is remembered, so a deep chain of such nodes stays linear.
 */
function interruptsAssert(nodes: Walked[], phandles: Map<number, Walked>): void {
  const prop = (n: FdtNode, name: string): Uint8Array | undefined => n.props.find((p) => cstr(p.name) === name)?.value;
  const isProvider = (n: FdtNode): boolean =>
    prop(n, "interrupt-controller") !== undefined || prop(n, "interrupt-map") !== undefined;
  // What the climb finds at `w` itself: null when it goes on to the parent.
  const own = (w: Walked, where: Walked): FdtNode | undefined | null => {
    const ip = prop(w.node, "interrupt-parent");
    if (ip === undefined) return null;
    if (ip.length !== 4) die("dtc aborts: interrupt-parent is not a single cell", pathOf(where));
    const ph = cell(ip);
    return ph !== 0 && ph !== 0xffffffff ? phandles.get(ph)?.node : undefined;
  };
  // The interrupt parent found climbing from an ancestor (its provider role included), remembered per
  // ancestor. The climb is a loop that stops at the first remembered or deciding ancestor, then fills in
  // the ones it passed.
  const climb = new Map<Walked, FdtNode | undefined>();
  const fromAncestor = (start: Walked, where: Walked): FdtNode | undefined => {
    const passed: Walked[] = [];
    let found: FdtNode | undefined;
    for (let a: Walked | null = start; a; a = a.parent) {
      if (climb.has(a)) {
        found = climb.get(a);
        break;
      }
      if (isProvider(a.node)) {
        found = a.node;
        climb.set(a, found);
        break;
      }
      const o = own(a, where);
      if (o !== null) {
        found = o;
        climb.set(a, found);
        break;
      }
      passed.push(a);
    }
    for (const a of passed) climb.set(a, found);
    return found;
  };
  for (const w of nodes) {
    if (!prop(w.node, "interrupts")) continue;
    const o = own(w, w);
    const irq = o !== null ? o : w.parent ? fromAncestor(w.parent, w) : undefined;
    if (!irq) continue;
    const cells = prop(irq, "#interrupt-cells");
    if (cells !== undefined && cells.length !== 4) die("dtc aborts: #interrupt-cells is not a single cell", pathOf(w));
  }
}

// ---------------------------------------------------------------- writer

/** C isprint in the "C" locale. */
const isPrint = (c: number): boolean => c >= 0x20 && c <= 0x7e;
const isStringChar = (c: number): boolean => isPrint(c) || c === 0 || (c >= 7 && c <= 13);

type ValueKind = "string" | "cells" | "bytes";

function guessKind(v: Uint8Array): ValueKind {
  let notString = 0;
  let nul = 0;
  for (const c of v) {
    if (!isStringChar(c)) notString++;
    if (c === 0) nul++;
  }
  if (v[v.length - 1] === 0 && notString === 0 && nul <= v.length - nul) return "string";
  if (v.length % 4 === 0) return "cells";
  return "bytes";
}

const ESCAPES: Record<number, string> = {
  7: "\\a",
  8: "\\b",
  9: "\\t",
  10: "\\n",
  11: "\\v",
  12: "\\f",
  13: "\\r",
  92: "\\\\",
  34: '\\"',
  0: "\\0",
};

function* quoted(bytes: Uint8Array): Generator<string> {
  yield '"';
  for (let i = 0; i < bytes.length; i += VALUE_SLICE) {
    let s = "";
    for (const c of bytes.subarray(i, i + VALUE_SLICE)) {
      const e = ESCAPES[c];
      if (e !== undefined) s += e;
      else if (isPrint(c)) s += String.fromCharCode(c);
      else s += `\\x${c.toString(16).padStart(2, "0")}`;
    }
    yield s;
  }
  yield '"';
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/** The text after a property's name, in slices. */
function* propValue(v: Uint8Array): Generator<string> {
  if (v.length === 0) {
    yield ";";
    return;
  }
  const kind = guessKind(v);
  if (kind === "string") {
    // dtc 1.6.1 writes a string list as one literal with embedded \0.
    yield " = ";
    yield* quoted(v.subarray(0, v.length - 1));
    yield ";";
    return;
  }
  yield kind === "cells" ? " = <" : " = [";
  for (let i = 0; i < v.length; i += VALUE_SLICE) {
    const part = v.subarray(i, i + VALUE_SLICE);
    const items: string[] = [];
    if (kind === "cells") for (let j = 0; j < part.length; j += 4) items.push(`0x${hex2(cell(part.subarray(j, j + 4)))}`);
    else for (const b of part) items.push(hex2(b));
    yield `${i === 0 ? "" : " "}${items.join(" ")}`;
  }
  yield kind === "cells" ? ">;" : "];";
}

/** The node blocks, depth first with an explicit stack: a blob's depth is its author's choice. */
function* treeText(root: FdtNode): Generator<string> {
  // Each frame is a node still to open, or the closing line of an open one.
  type Frame = { node: FdtNode; level: number; close: boolean; blank: boolean };
  const stack: Frame[] = [{ node: root, level: 0, close: false, blank: false }];
  while (stack.length > 0) {
    const f = stack.pop()!;
    const tabs = "\t".repeat(f.level);
    if (f.close) {
      yield `${tabs}};\n`;
      continue;
    }
    if (f.blank) yield "\n";
    const name = cstr(f.node.name);
    yield `${tabs}${name ? name : "/"} {\n`;
    for (const p of f.node.props) {
      yield `${tabs}\t${cstr(p.name)}`;
      yield* propValue(p.value);
      yield "\n";
    }
    stack.push({ node: f.node, level: f.level, close: true, blank: false });
    for (let i = f.node.children.length - 1; i >= 0; i--)
      stack.push({ node: f.node.children[i]!, level: f.level + 1, close: false, blank: true });
  }
}

function hex16(n: bigint): string {
  return n.toString(16).padStart(16, "0");
}

function isTree(x: Uint8Array | FdtTree): x is FdtTree {
  return !(x instanceof Uint8Array);
}

/**
 * `dtc -I dtb -O dts` output for a blob (checked with checkFull first, then
 * read the way dtc reads it) or for an already decoded tree, in chunks of
 * about CHUNK_CHARS characters. Throws FdtError for a blob libfdt rejects and
 * DtsError where dtc would refuse to print, before the first chunk.
 */
export function dtsChunks(input: Uint8Array | FdtTree): Iterable<string> {
  let tree: FdtTree;
  if (isTree(input)) tree = input;
  else {
    checkFull(input);
    tree = dtcReadBlob(input);
  }
  const root = dtcCheckTree(tree.root);
  return chunked(tree.memreserve, root);
}

function* chunked(memreserve: readonly FdtMemReserve[], root: FdtNode): Generator<string> {
  const out = new TextChunks();
  out.add("/dts-v1/;\n\n");
  for (const r of memreserve) out.add(`/memreserve/\t0x${hex16(r.address)} 0x${hex16(r.size)};\n`);
  for (const piece of treeText(root)) if (out.add(piece)) yield out.take();
  if (!out.empty) yield out.take();
}

/** The whole `dtc -I dtb -O dts` text at once (see dtsChunks). */
export function toDts(input: Uint8Array | FdtTree): string {
  return joinChunks(dtsChunks(input));
}
