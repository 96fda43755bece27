import { checkFull } from "./check.js";
import { CHUNK_CHARS, HEX2, joinChunks, TextChunks, VALUE_SLICE } from "./chunks.js";
import { dtcCheckTree } from "./dts-check.js";
import { dtcReadBlob } from "./dts-read.js";
import { children, type DtsNode, type DtsTree, dtsTreeOf, propName, propValue } from "./dts-tree.js";
import type { FdtTree } from "./parse.js";

export { DtsError } from "./dts-error.js";

/*
 * DTS text exactly as `dtc -I dtb -O dts` (dtc 1.6.1) prints it. Three stages
 * mirror dtc: its own blob reader (dts-read.ts), the checks dtc treats as
 * errors (dts-check.ts; it then prints nothing), and the source writer here
 * with its guess of how each value was written.
 */

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

function quotedBody(bytes: Uint8Array): string {
  let s = "";
  for (const c of bytes) {
    const e = ESCAPES[c];
    if (e !== undefined) s += e;
    else if (isPrint(c)) s += String.fromCharCode(c);
    else s += `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return s;
}

/** dtc prints each cell with %02x: at least two digits, no further padding. */
function cellsBody(v: Uint8Array): string {
  let s = "";
  for (let j = 0; j < v.length; j += 4) {
    const c = ((v[j]! << 24) | (v[j + 1]! << 16) | (v[j + 2]! << 8) | v[j + 3]!) >>> 0;
    s += `${j ? " " : ""}0x${c < 0x100 ? HEX2[c] : c.toString(16)}`;
  }
  return s;
}

function bytesBody(v: Uint8Array): string {
  let s = "";
  for (let j = 0; j < v.length; j++) s += j ? ` ${HEX2[v[j]!]}` : HEX2[v[j]!];
  return s;
}

/** How dtc writes a value it guessed the kind of: the opening, the body of a slice, the closing. */
const FORMS: Record<ValueKind, { open: string; body: (v: Uint8Array) => string; sep: string; close: string }> = {
  // dtc 1.6.1 writes a string list as one literal with embedded \0; the final NUL is implied.
  string: { open: ' = "', body: quotedBody, sep: "", close: '";' },
  cells: { open: " = <", body: cellsBody, sep: " ", close: ">;" },
  bytes: { open: " = [", body: bytesBody, sep: " ", close: "];" },
};

function bodyOf(v: Uint8Array, kind: ValueKind): Uint8Array {
  return kind === "string" ? v.subarray(0, v.length - 1) : v;
}

/** The text after a property's name, for a value of at most VALUE_SLICE bytes. */
function valueString(v: Uint8Array): string {
  if (v.length === 0) return ";";
  const kind = guessKind(v);
  const f = FORMS[kind];
  return f.open + f.body(bodyOf(v, kind)) + f.close;
}

/** The same for a larger value, in slices, so one huge property never becomes one huge string. */
function* valueText(v: Uint8Array): Generator<string> {
  const kind = guessKind(v);
  const f = FORMS[kind];
  const body = bodyOf(v, kind);
  yield f.open;
  for (let i = 0; i < body.length; i += VALUE_SLICE) yield (i ? f.sep : "") + f.body(body.subarray(i, i + VALUE_SLICE));
  yield f.close;
}

/** The node blocks, depth first with an explicit stack: a blob's depth is its author's choice. */
function* treeText(t: DtsTree): Generator<string> {
  // Each frame is a node still to open, or the closing line of an open one.
  type Frame = { node: DtsNode; level: number; close: boolean; blank: boolean };
  const stack: Frame[] = [{ node: t.root, level: 0, close: false, blank: false }];
  while (stack.length > 0) {
    const f = stack.pop()!;
    const tabs = "\t".repeat(f.level);
    if (f.close) {
      yield `${tabs}};\n`;
      continue;
    }
    const n = f.node;
    let s = `${f.blank ? "\n" : ""}${tabs}${n.name ? n.name : "/"} {\n`;
    for (let r = n.firstProp; r >= 0; r = t.props.next[r]!) {
      const v = propValue(t, r);
      s += `${tabs}\t${propName(t, r)}`;
      if (v.length <= VALUE_SLICE) {
        s += `${valueString(v)}\n`;
        // A node may hold any number of properties: its text goes out in chunks too.
        if (s.length >= CHUNK_CHARS) {
          yield s;
          s = "";
        }
      } else {
        yield s;
        yield* valueText(v);
        s = "\n";
      }
    }
    yield s;
    stack.push({ node: n, level: f.level, close: true, blank: false });
    const kids = children(n);
    for (let i = kids.length - 1; i >= 0; i--)
      stack.push({ node: kids[i]!, level: f.level + 1, close: false, blank: true });
  }
}

function hex16(n: bigint): string {
  return n.toString(16).padStart(16, "0");
}

/**
 * `dtc -I dtb -O dts` output for a blob (checked with checkFull first, then
 * read the way dtc reads it) or for an already decoded tree, in chunks of
 * about CHUNK_CHARS characters. Throws FdtError for a blob libfdt rejects and
 * DtsError where dtc would refuse to print, before the first chunk.
 */
export function dtsChunks(input: Uint8Array | FdtTree): Iterable<string> {
  let tree: DtsTree;
  if (input instanceof Uint8Array) {
    checkFull(input);
    tree = dtcReadBlob(input);
  } else tree = dtsTreeOf(input);
  dtcCheckTree(tree);
  return chunked(tree);
}

function* chunked(t: DtsTree): Generator<string> {
  const out = new TextChunks();
  out.add("/dts-v1/;\n\n");
  for (const r of t.memreserve) out.add(`/memreserve/\t0x${hex16(r.address)} 0x${hex16(r.size)};\n`);
  for (const piece of treeText(t)) if (out.add(piece)) yield out.take();
  if (!out.empty) yield out.take();
}

/** The whole `dtc -I dtb -O dts` text at once (see dtsChunks). */
export function toDts(input: Uint8Array | FdtTree): string {
  return joinChunks(dtsChunks(input));
}
