/**
 * The full DTB corpus used by the libfdt / dtc comparison tests: dtc-compiled
 * sources, builder-made blobs (old versions, NOPs, odd layouts, things dtc
 * refuses) and seeded mutations of all of them, written to a temp directory.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildDtb, compileCorpus, mutations, prng, type TNode } from "./corpus.js";

const te = new TextEncoder();
const str = (s: string): Uint8Array => te.encode(`${s}\0`);
const cells = (...v: number[]): Uint8Array => {
  const b = new Uint8Array(v.length * 4);
  for (const [i, x] of v.entries()) new DataView(b.buffer).setUint32(i * 4, x >>> 0);
  return b;
};
const N = (name: string, props: [string, Uint8Array][] = [], children: TNode[] = []): TNode => ({
  name,
  props: props.map(([n, value]) => ({ name: n, value })),
  children,
});

/** A seeded random tree: names from the legal dtc alphabet plus some odd ones. */
export function randomTree(seed: number, odd = false): TNode {
  const r = prng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789,._+-";
  const word = (n: number): string => Array.from({ length: 1 + Math.floor(r() * n) }, () => pick([...ALNUM])).join("");
  const value = (): Uint8Array => {
    const k = Math.floor(r() * 7);
    if (k === 0) return new Uint8Array(0);
    if (k === 1) return str(word(10));
    if (k === 2) return cells(...Array.from({ length: 1 + Math.floor(r() * 4) }, () => Math.floor(r() * 2 ** 32)));
    if (k === 3) return Uint8Array.from({ length: Math.floor(r() * 9) + 1 }, () => Math.floor(r() * 256));
    if (k === 4) return te.encode(`${word(5)}\0${word(3)}\0${r() < 0.3 ? "\0" : ""}`);
    if (k === 5)
      return Uint8Array.from({ length: Math.floor(r() * 6) + 1 }, () =>
        pick([0, 7, 9, 10, 13, 0x22, 0x5c, 0x41, 0x7f, 0xe9]),
      );
    return te.encode(pick(["\t\n\0", '"q"\0', "a\\b\0", "\0\0\0\0", "x\0\0", "\0"]));
  };
  let budget = 40;
  const node = (name: string, depth: number): TNode => {
    const props: [string, Uint8Array][] = [];
    const used = new Set<string>();
    const np = Math.floor(r() * 5);
    for (let i = 0; i < np; i++) {
      let n = odd && r() < 0.1 ? pick(["bad name", "a@b", "name", "é"]) : word(12);
      if (!odd) while (used.has(n)) n += "x";
      used.add(n);
      props.push([n, value()]);
    }
    const children: TNode[] = [];
    const usedKids = new Set<string>();
    const nc = depth > 5 || budget <= 0 ? 0 : Math.floor(r() * 4);
    for (let i = 0; i < nc && budget > 0; i++) {
      budget--;
      let n = word(8) + (r() < 0.3 ? `@${Math.floor(r() * 0x10000).toString(16)}` : "");
      if (odd && r() < 0.1) n = pick(["a@1@2", "sp ace", "", "dup"]);
      if (!odd) while (usedKids.has(n)) n += "y";
      usedKids.add(n);
      children.push(node(n, depth + 1));
    }
    return N(name, props, children);
  };
  return node("", 0);
}

export interface CorpusBlob {
  name: string;
  path: string;
  blob: Uint8Array;
}

function special(): [string, Uint8Array][] {
  const base = N(
    "",
    [
      ["compatible", str("kho-v4")],
      ["x", cells(1, 2)],
    ],
    [N("a@1", [["reg", cells(1)]]), N("b", [["v", cells(0xdeadbeef, 1)]])],
  );
  const out: [string, Uint8Array][] = [];
  out.push(["b-v17", buildDtb(base)]);
  out.push(["b-v16", buildDtb(base, { version: 16, lastComp: 16 })]);
  out.push(["b-nops", buildDtb(base, { nops: true })]);
  out.push([
    "b-nodedup",
    buildDtb(
      N(
        "",
        [
          ["a", str("1")],
          ["b", str("2")],
        ],
        [N("c", [["a", str("3")]])],
      ),
      { dedup: false },
    ),
  ]);
  out.push(["b-pad", buildDtb(base, { pad: 37 })]);
  out.push(["b-cpuid", buildDtb(base, { bootCpuid: 3 })]);
  out.push([
    "b-rsv",
    buildDtb(base, {
      memreserve: [
        [0x1000n, 0x2000n],
        [0n, 1n],
        [2n ** 64n - 1n, 2n ** 63n],
      ],
    }),
  ]);
  for (const v of [2, 3, 15]) out.push([`b-old-v${v}`, buildDtb(base, { version: v, lastComp: v === 15 ? 2 : v })]);
  out.push([
    "b-old-v15-big",
    buildDtb(
      N(
        "",
        [
          ["q", cells(1, 2, 3)],
          ["r", cells(7)],
        ],
        [N("k", [["w", cells(1, 2)]])],
      ),
      { version: 15, lastComp: 2 },
    ),
  ]);
  out.push(["b-dup-node", buildDtb(N("", [], [N("a"), N("a")]))]);
  out.push([
    "b-dup-prop",
    buildDtb(
      N("", [
        ["p", cells(1)],
        ["p", cells(2)],
      ]),
      { dedup: true },
    ),
  ]);
  out.push(["b-bad-node-char", buildDtb(N("", [], [N("a b")]))]);
  out.push(["b-two-at", buildDtb(N("", [], [N("a@1@2")]))]);
  out.push(["b-bad-prop-char", buildDtb(N("", [["p@q", cells(1)]]))]);
  out.push(["b-empty-child", buildDtb(N("", [], [N("")]))]);
  out.push(["b-empty-propname", buildDtb(N("", [["", cells(1)]]))]);
  out.push(["b-name-wrong", buildDtb(N("", [], [N("n", [["name", str("m")]])]))]);
  out.push(["b-name-bytes", buildDtb(N("", [], [N("n", [["name", cells(1)]])]))]);
  out.push(["b-phandle-zero", buildDtb(N("", [], [N("n", [["phandle", cells(0)]])]))]);
  out.push(["b-phandle-len", buildDtb(N("", [], [N("n", [["phandle", cells(1, 2)]])]))]);
  out.push(["b-phandle-dup", buildDtb(N("", [], [N("n", [["phandle", cells(5)]]), N("m", [["phandle", cells(5)]])]))]);
  out.push([
    "b-phandle-mismatch",
    buildDtb(
      N(
        "",
        [],
        [
          N("n", [
            ["phandle", cells(5)],
            ["linux,phandle", cells(6)],
          ]),
        ],
      ),
    ),
  ]);
  out.push(["b-root-named", buildDtb(N("r", []))]);
  out.push(["b-high-name", buildDtb(N("", [["\\x", cells(1)]], [N("\u00e9t\u00e9")]))]);
  // Property after a subnode: libfdt's property iteration does not see it, dtc does.
  {
    const t = buildDtb(N("", [["a", cells(1)]], [N("c", [["b", cells(2)]])]));
    out.push(["b-prop-after-child", moveFirstPropAfterChildren(t)]);
  }
  // NOP before the root node and after it; a second root; END inside a node.
  {
    const t = buildDtb(base, { nops: true });
    out.push(["b-leading-nop", t]);
    out.push(["b-trailing-nop", insertBeforeEnd(buildDtb(base), [0, 0, 0, 4])]);
    out.push(["b-two-roots", insertBeforeEnd(buildDtb(base), [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2])]);
    out.push(["b-end-node-extra", insertBeforeEnd(buildDtb(base), [0, 0, 0, 2])]);
  }
  return out;
}

function word(b: Uint8Array, o: number): number {
  return new DataView(b.buffer, b.byteOffset).getUint32(o);
}

/** Inserts bytes right before the final FDT_END tag and fixes the header sizes. */
function insertBeforeEnd(b: Uint8Array, ins: number[]): Uint8Array {
  const offStruct = word(b, 8);
  const sizeStruct = word(b, 36);
  const at = offStruct + sizeStruct - 4;
  const out = new Uint8Array(b.length + ins.length);
  out.set(b.subarray(0, at));
  out.set(ins, at);
  out.set(b.subarray(at), at + ins.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, out.length);
  dv.setUint32(12, word(b, 12) + ins.length);
  dv.setUint32(36, sizeStruct + ins.length);
  return out;
}

/** Moves the root's first property (12 + 4 bytes) after its children. */
function moveFirstPropAfterChildren(b: Uint8Array): Uint8Array {
  const offStruct = word(b, 8);
  const sizeStruct = word(b, 36);
  const propAt = offStruct + 8;
  const prop = b.slice(propAt, propAt + 16);
  const rootEnd = offStruct + sizeStruct - 8;
  const out = b.slice();
  out.copyWithin(propAt, propAt + 16, rootEnd);
  out.set(prop, rootEnd - 16);
  return out;
}

/** Writes the whole corpus to a fresh temp dir. */
export function buildCorpus(): { dir: string; blobs: CorpusBlob[]; validBases: number } {
  const dir = mkdtempSync(join(tmpdir(), "khosim-fdt-"));
  const bases: [string, Uint8Array][] = [];
  for (const [n, b] of compileCorpus(join(dir, "dts"))) bases.push([`dts-${n}`, b]);
  bases.push(...special());
  for (let s = 1; s <= 24; s++) bases.push([`rand-${s}`, buildDtb(randomTree(s * 7919, s % 4 === 0))]);
  const blobs: CorpusBlob[] = [];
  const add = (name: string, blob: Uint8Array): void => {
    const path = join(dir, `${blobs.length}.dtb`);
    writeFileSync(path, blob);
    blobs.push({ name, path, blob });
  };
  for (const [n, b] of bases) add(n, b);
  bases.forEach(([n, b], i) => {
    // Mutating every base would triple the run time for little extra cover.
    if (n.startsWith("dts-") || i % 3 === 0 || n.startsWith("b-v17") || n.startsWith("b-old")) {
      for (const [k, m] of mutations(b, 1000 + i).entries()) add(`${n}~m${k}`, m);
    }
  });
  return { dir, blobs, validBases: bases.length };
}
