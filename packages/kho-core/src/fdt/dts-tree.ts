import type { FdtMemReserve, FdtNode, FdtTree } from "./parse.js";

/*
 * The tree dtc holds between reading a blob and printing it, kept small
 * because a blob may hold millions of nodes and properties: nodes link to
 * their first child and next sibling instead of holding arrays, and a
 * property is a row of four integer columns (name, value position, length,
 * next property of the node), not an object. Names are as C sees them (cut
 * at a NUL); values stay in the blob.
 */

export interface DtsNode {
  readonly name: string;
  readonly parent: DtsNode | null;
  firstChild: DtsNode | null;
  lastChild: DtsNode | null;
  next: DtsNode | null;
  /** First property row, or -1. */
  firstProp: number;
  lastProp: number;
}

/** Growable Int32 columns, one row per property. */
export class PropRows {
  name = new Int32Array(1024);
  at = new Int32Array(1024);
  len = new Int32Array(1024);
  next = new Int32Array(1024);
  count = 0;

  /** Appends a property to `node`'s list. */
  add(node: DtsNode, name: number, at: number, len: number): void {
    if (this.count === this.name.length) {
      const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.name = grow(this.name);
      this.at = grow(this.at);
      this.len = grow(this.len);
      this.next = grow(this.next);
    }
    const row = this.count++;
    this.name[row] = name;
    this.at[row] = at;
    this.len[row] = len;
    this.next[row] = -1;
    if (node.lastProp < 0) node.firstProp = row;
    else this.next[node.lastProp] = row;
    node.lastProp = row;
  }
}

export interface DtsTree {
  readonly bytes: Uint8Array;
  readonly names: readonly string[];
  readonly props: PropRows;
  readonly memreserve: readonly FdtMemReserve[];
  readonly root: DtsNode;
}

/** C string view of a name: dtc stores names with strdup, so a NUL ends them. */
export function cstr(s: string): string {
  const z = s.indexOf("\0");
  return z < 0 ? s : s.slice(0, z);
}

export function newNode(name: string, parent: DtsNode | null): DtsNode {
  const node: DtsNode = { name, parent, firstChild: null, lastChild: null, next: null, firstProp: -1, lastProp: -1 };
  if (parent) {
    if (parent.lastChild) parent.lastChild.next = node;
    else parent.firstChild = node;
    parent.lastChild = node;
  }
  return node;
}

export function children(n: DtsNode): DtsNode[] {
  const out: DtsNode[] = [];
  for (let c = n.firstChild; c; c = c.next) out.push(c);
  return out;
}

/** The property rows of a node, in order. */
export function propRows(t: DtsTree, n: DtsNode): number[] {
  const out: number[] = [];
  for (let r = n.firstProp; r >= 0; r = t.props.next[r]!) out.push(r);
  return out;
}

export function propName(t: DtsTree, row: number): string {
  return t.names[t.props.name[row]!]!;
}

export function propValue(t: DtsTree, row: number): Uint8Array {
  const at = t.props.at[row]!;
  return t.bytes.subarray(at, at + t.props.len[row]!);
}

/** The first property row named `name`, or -1. */
export function findProp(t: DtsTree, n: DtsNode, name: string): number {
  for (let r = n.firstProp; r >= 0; r = t.props.next[r]!) if (propName(t, r) === name) return r;
  return -1;
}

/** Unlinks a property row from its node (dtc drops a correct `name` property). */
export function dropProp(t: DtsTree, n: DtsNode, row: number): void {
  let prev = -1;
  for (let r = n.firstProp; r >= 0; prev = r, r = t.props.next[r]!) {
    if (r !== row) continue;
    const after = t.props.next[r]!;
    if (prev < 0) n.firstProp = after;
    else t.props.next[prev] = after;
    if (n.lastProp === row) n.lastProp = prev;
    return;
  }
}

/** Interns property names, so a name repeated on every node is held once. */
export class NameTable {
  readonly names: string[] = [];
  private readonly index = new Map<string, number>();
  of(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(name);
      this.index.set(name, i);
    }
    return i;
  }
}

/** A decoded tree in the same form: its values are gathered into one buffer. */
export function dtsTreeOf(tree: FdtTree): DtsTree {
  let size = 0;
  const sizeStack: FdtNode[] = [tree.root];
  while (sizeStack.length > 0) {
    const n = sizeStack.pop()!;
    for (const p of n.props) size += p.value.length;
    for (const c of n.children) sizeStack.push(c);
  }
  const bytes = new Uint8Array(size);
  const table = new NameTable();
  const props = new PropRows();
  let at = 0;
  const make = (from: FdtNode, parent: DtsNode | null): DtsNode => {
    const node = newNode(cstr(from.name), parent);
    for (const p of from.props) {
      bytes.set(p.value, at);
      props.add(node, table.of(cstr(p.name)), at, p.value.length);
      at += p.value.length;
    }
    return node;
  };
  const root = make(tree.root, null);
  const stack: [FdtNode, DtsNode][] = [[tree.root, root]];
  while (stack.length > 0) {
    const [from, to] = stack.pop()!;
    // Children are made in order (so siblings link in order) before any is descended into.
    for (const c of from.children) stack.push([c, make(c, to)]);
  }
  return { bytes, names: table.names, props, memreserve: tree.memreserve, root };
}
