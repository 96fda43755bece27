import { checkFull } from "./check.js";
import { joinChunks, TextChunks, VALUE_SLICE } from "./chunks.js";
import { cell, dtcCheckTree } from "./dts-check.js";
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
function* valueText(v: Uint8Array): Generator<string> {
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
    if (kind === "cells")
      for (let j = 0; j < part.length; j += 4) items.push(`0x${hex2(cell(part.subarray(j, j + 4)))}`);
    else for (const b of part) items.push(hex2(b));
    yield `${i === 0 ? "" : " "}${items.join(" ")}`;
  }
  yield kind === "cells" ? ">;" : "];";
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
    if (f.blank) yield "\n";
    const n = f.node;
    yield `${tabs}${n.name ? n.name : "/"} {\n`;
    for (let r = n.firstProp; r >= 0; r = t.props.next[r]!) {
      yield `${tabs}\t${propName(t, r)}`;
      yield* valueText(propValue(t, r));
      yield "\n";
    }
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
