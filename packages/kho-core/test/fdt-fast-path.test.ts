/**
 * Issue 14: the fast paths of fdt_check_full and of the DTB decoder. The
 * one-pass check may only ever reach "valid" sooner: on damaged blobs its
 * verdict must be the exact model's, error name included. The decoder must
 * see what libfdt's own walk sees (the bench's libfdt harness, built here).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { libfdtHarness, treeSeen } from "../src/bench/fdt-libfdt.js";
import { DtbWriter, deepDtb, largeDtb, manyPropsDtb, str, u32s, wideDtb } from "../src/bench/fdt-shapes.js";
import { checkFull, checkFullExact, countMemReserve, FdtView, headerFault, headerOf } from "../src/fdt/check.js";
import { structAccepted } from "../src/fdt/check-fast.js";
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_NOP, FDT_PROP } from "../src/fdt/constants.js";
import { FdtError } from "../src/fdt/errors.js";
import { parseFdt } from "../src/fdt/parse.js";
import { buildDtb } from "./helpers/corpus.js";
import { randomTree } from "./helpers/corpus-set.js";
import { coldBoot, machineSpec } from "./helpers/kho-machine.js";

function verdict(run: () => void): string {
  try {
    run();
    return "ok";
  } catch (e) {
    if (e instanceof FdtError) return e.fdtErr;
    throw e;
  }
}

/** What structAccepted relies on: a v17+ blob that passed everything of fdt_check_full before the struct walk. */
function framed(b: Uint8Array): boolean {
  if (b.length < 40) return false;
  const v = new FdtView(b);
  if (v.version < 17 || headerFault(headerOf(v)) !== null || v.totalsize > b.length) return false;
  return verdict(() => countMemReserve(v)) === "ok";
}

function fastAccepts(b: Uint8Array): boolean {
  const v = new FdtView(b);
  return structAccepted(b, v.offStruct, v.sizeStruct, v.offStrings, v.sizeStrings);
}

/** The root FDT of a cold-booted kernel with a few subtrees: what the next kernel checks. */
function khoRoot(): Uint8Array {
  const { out } = coldBoot(machineSpec(4096));
  for (let i = 0; i < 5; i++) out.addSubtree(`sub-${i}`, 0x10000 * (i + 1), 64 + i);
  return out.fdt.slice();
}

const sample = (): Uint8Array => {
  const w = new DtbWriter().begin("").prop("compatible", str("khosim,fast"));
  w.begin("a@1").prop("reg", u32s(1, 2)).prop("empty", new Uint8Array(0)).end();
  return w.begin("b").prop("x", u32s(3)).end().end().finish();
};

const BASES = [
  largeDtb(3000),
  deepDtb(20, "n", [["x", u32s(7)]]),
  wideDtb(20),
  manyPropsDtb(30),
  sample(),
  buildDtb(randomTree(7)),
];

const be32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at);
const setBe32 = (b: Uint8Array, at: number, v: number): void =>
  new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0);

/** Values that make a struct word interesting: tags, lengths at the block's edges, wrapping lengths. */
function wordValues(b: Uint8Array): number[] {
  const sizeStruct = be32(b, 36);
  const sizeStrings = be32(b, 32);
  return [
    ...[FDT_BEGIN_NODE, FDT_END_NODE, FDT_PROP, FDT_NOP, FDT_END, 0, 5, 0xffffffff],
    ...[sizeStruct, sizeStruct - 4, sizeStruct - 12, sizeStruct + 1, 0x7fffffff, 0x80000000, 0xfffffff4, 0xfffffff8],
    ...[sizeStrings, sizeStrings - 1, sizeStrings - 2, 0x80000000 + 3],
  ];
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("struct" as const), at: fc.nat(), pick: fc.nat() }),
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant("header" as const),
    word: fc.constantFrom(2, 3, 8, 9),
    delta: fc.integer({ min: -8, max: 8 }),
  }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(base: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  const b = base.slice();
  for (const m of muts) {
    if (m.kind === "flip") b[m.at % b.length]! ^= 1 << m.bit;
    else if (m.kind === "header") setBe32(b, m.word * 4, be32(b, m.word * 4) + m.delta);
    else {
      // A word of the struct block, at a tag boundary, set to an interesting value.
      const words = Math.max(1, Math.floor(be32(base, 36) / 4));
      const values = wordValues(base);
      setBe32(b, be32(base, 8) + 4 * (m.at % words), values[m.pick % values.length]!);
    }
  }
  return b;
}

describe("issue 14: fdt_check_full in one pass", () => {
  it("takes the fast path for every valid bench shape, random tree and KHO root FDT", () => {
    for (const b of [...BASES, khoRoot(), largeDtb(2 ** 20)]) {
      expect(checkFullExact(b)).toBeUndefined();
      expect(fastAccepts(b)).toBe(true);
    }
  });

  it("gives the exact model's verdict, error name included, on damaged blobs", () => {
    let fastValid = 0;
    let exactOnly = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: BASES.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (which, muts) => {
          const b = mutate(BASES[which]!, muts);
          const exact = verdict(() => checkFullExact(b));
          expect(verdict(() => checkFull(b))).toBe(exact);
          // Whatever the fast path accepts, the exact model accepts (the check above, made explicit).
          if (framed(b)) {
            if (fastAccepts(b)) {
              fastValid++;
              expect(exact).toBe("ok");
            } else exactOnly++;
          }
        },
      ),
      { numRuns: 3000, seed: 0x14fd7 },
    );
    // Both branches ran: damage that keeps a blob valid (a flipped value byte) and damage that does not.
    expect(fastValid).toBeGreaterThan(100);
    expect(exactOnly).toBeGreaterThan(100);
  });

  it("leaves a property length that wraps the walk to the exact model (FDT_ERR_BADSTRUCTURE, not a loop)", () => {
    const b = manyPropsDtb(3);
    // The first property's length: 12 + 0xfffffff4 wraps the next offset back onto its own tag.
    setBe32(b, be32(b, 8) + 4 + 4, 0xfffffff4);
    expect(fastAccepts(b)).toBe(false);
    expect(verdict(() => checkFull(b))).toBe("FDT_ERR_BADSTRUCTURE");
  });

  it("leaves a second root, or a NOP after the root, to the exact model (FDT_ERR_BADSTRUCTURE)", () => {
    const twoRoots = new DtbWriter().begin("").end().begin("").end().finish();
    const nopAfter = new DtbWriter().begin("").end().finish();
    // The END tag becomes a NOP, and a new END follows it inside a grown struct block.
    const grown = new Uint8Array(nopAfter.length + 4);
    grown.set(nopAfter);
    const end = be32(nopAfter, 8) + be32(nopAfter, 36) - 4;
    grown.copyWithin(end + 4, end);
    setBe32(grown, end, FDT_NOP);
    setBe32(grown, end + 4, FDT_END);
    setBe32(grown, 4, grown.length);
    setBe32(grown, 12, be32(grown, 12) + 4);
    setBe32(grown, 36, be32(grown, 36) + 4);
    for (const b of [twoRoots, grown]) {
      expect(fastAccepts(b)).toBe(false);
      expect(verdict(() => checkFull(b))).toBe("FDT_ERR_BADSTRUCTURE");
      expect(verdict(() => checkFullExact(b))).toBe("FDT_ERR_BADSTRUCTURE");
    }
  });
});

describe("issue 14: parseFdt reads the checked struct directly", () => {
  let harness = "";
  beforeAll(() => {
    try {
      harness = libfdtHarness();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new Error(process.env.CI === "true" ? `[CI] ${msg}` : msg);
    }
  });

  it("sees every node name, property name and value libfdt's walk sees (counts and digest)", () => {
    const dir = mkdtempSync(join(tmpdir(), "khosim-fdt-fast-"));
    const blobs = [...BASES, khoRoot(), ...Array.from({ length: 30 }, (_, i) => buildDtb(randomTree(1000 + i)))];
    for (const [i, b] of blobs.entries()) {
      const file = join(dir, `${i}.dtb`);
      writeFileSync(file, b);
      const out = execFileSync(harness, ["walk", file, "1"], { encoding: "utf8" });
      const c = Object.fromEntries(
        out
          .trim()
          .split(/\s+/)
          .map((kv) => kv.split("=")),
      );
      const seen = treeSeen(parseFdt(b).root);
      expect({ ...seen }, `blob ${i}`).toEqual({
        nodes: Number(c.nodes),
        props: Number(c.props),
        name_bytes: Number(c.name_bytes),
        value_bytes: Number(c.value_bytes),
        digest: c.digest,
      });
    }
  });

  it("returns values that are copies: writing the input afterwards changes nothing", () => {
    const b = sample();
    const t = parseFdt(b);
    const before = Array.from(t.root.children[0]!.props[0]!.value);
    b.fill(0xee, 40);
    expect(Array.from(t.root.children[0]!.props[0]!.value)).toEqual(before);
    expect(before).toEqual([0, 0, 0, 1, 0, 0, 0, 2]);
  });

  it("refuses a property before the root node (fdt_check_full lets it pass) with FdtError, not a crash", () => {
    const w = new DtbWriter().prop("stray", u32s(1)).begin("").end();
    const b = w.finish();
    expect(verdict(() => checkFull(b))).toBe("ok");
    expect(verdict(() => parseFdt(b))).toBe("FDT_ERR_BADSTRUCTURE");
  });
});
