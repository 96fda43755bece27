import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DtbWriter, deepDtb, largeDtb, manyPropsDtb, str, wideDtb } from "../src/bench/fdt-shapes.js";
import { type BlobReport, type DebugfsReport, decodeDebugfs } from "../src/debugfs/decode.js";
import { FDT_JSON_LIMITS, type FdtJsonNode } from "../src/debugfs/fdt-json.js";
import { checkFull } from "../src/fdt/check.js";
import { subnodes } from "../src/fdt/ro.js";

/*
 * Issue 13, `kho debugfs decode`: a sub_fdts blob of any depth, width or
 * size decodes to a report of bounded size, in time linear in the blob.
 */

function blobReport(blob: Uint8Array): BlobReport {
  const r = decodeDebugfs(new Map([["in/sub_fdts/x", blob]]));
  return r.in!.subFdts[0]!;
}

/** Depth of the shown tree, walked with a stack of its own. */
function shownDepth(root: FdtJsonNode): number {
  let max = 0;
  const stack: [FdtJsonNode, number][] = [[root, 0]];
  for (let e = stack.pop(); e; e = stack.pop()) {
    max = Math.max(max, e[1]);
    for (const c of e[0].children) stack.push([c, e[1] + 1]);
  }
  return max;
}

function subnodeCount(blob: Uint8Array): number {
  let n = 0;
  for (const _ of subnodes(blob, 0)) n++;
  return n;
}

function elapsed(fn: () => unknown): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

describe("issue 13: debugfs decode of deep, wide and large FDT blobs", () => {
  for (const depth of [3_500, 100_000]) {
    it(`a ${depth}-level blob is shown to the depth limit, the rest counted; its JSON serialises`, () => {
      const b = blobReport(deepDtb(depth, "n", [["reg", new Uint8Array(8)]]));
      expect(b.decoded.kind).toBe("fdt");
      if (b.decoded.kind !== "fdt") return;
      expect(shownDepth(b.decoded.root)).toBe(FDT_JSON_LIMITS.depth);
      let n = b.decoded.root;
      while (n.children.length) n = n.children[0]!;
      // The deepest shown node counts every node and property below it.
      expect(n.omitted).toEqual({ nodes: depth - FDT_JSON_LIMITS.depth, props: depth - FDT_JSON_LIMITS.depth });
      expect(b.decoded.note).toContain(`${depth - FDT_JSON_LIMITS.depth} node(s)`);
      const json = JSON.stringify(b);
      expect(json.length).toBeLessThan(64 * 1024);
    });
  }

  it("25 000 siblings: the first nodes are shown, the others counted under the root, in linear time", () => {
    const small = wideDtb(2_500);
    const big = wideDtb(25_000);
    const tSmall = elapsed(() => blobReport(small));
    let b: BlobReport | undefined;
    const tBig = elapsed(() => {
      b = blobReport(big);
    });
    if (b?.decoded.kind !== "fdt") throw new Error("not decoded as an FDT");
    expect(b.decoded.root.children).toHaveLength(FDT_JSON_LIMITS.nodes - 1);
    expect(b.decoded.root.children.at(-1)?.name).toBe(`n${FDT_JSON_LIMITS.nodes - 2}`);
    expect(b.decoded.root.omitted).toEqual({ nodes: 25_000 - FDT_JSON_LIMITS.nodes + 1, props: 0 });
    // Ten times the nodes, ten times the work: far below the hundredfold of a quadratic walk.
    expect(tBig).toBeLessThan(30 * tSmall + 200);
  });

  it("40 000 properties in one node: the first are shown, the others counted", () => {
    const b = blobReport(manyPropsDtb(40_000));
    if (b.decoded.kind !== "fdt") throw new Error("not decoded as an FDT");
    expect(b.decoded.root.props).toHaveLength(FDT_JSON_LIMITS.props);
    expect(b.decoded.root.props[1]).toEqual({ name: "p1", length: 4, u32: 0x1000000, hex: "00000001" });
    expect(b.decoded.root.omitted).toEqual({ nodes: 0, props: 40_000 - FDT_JSON_LIMITS.props });
  });

  it("a value longer than the limit is shown by its head, marked truncated", () => {
    const b = blobReport(deepDtb(1, "n", [["big", new Uint8Array(100_000).fill(0xab)]]));
    if (b.decoded.kind !== "fdt") throw new Error("not decoded as an FDT");
    const p = b.decoded.root.children[0]!.props[0]!;
    expect(p).toEqual({ name: "big", length: 100_000, hex: "ab".repeat(FDT_JSON_LIMITS.valueBytes), truncated: true });
  });

  it("a valid 4 MiB DTB as root FDT and as a blob: every root child listed, bounded blob report, linear time", () => {
    const blob = largeDtb(4 << 20);
    // The reference cost: fdt_check_full's one pass over the blob, which each decode does once.
    const check = elapsed(() => checkFull(blob));
    let r: DebugfsReport | undefined;
    const t = elapsed(() => {
      r = decodeDebugfs(
        new Map([
          ["in/fdt", blob],
          ["in/sub_fdts/x", blob],
        ]),
      );
    });
    expect(r?.in?.fdt?.status).toBe("incompatible");
    // Every child of the root is listed, as a kernel reading the root would see it.
    expect(r?.in?.fdt?.subtrees.length).toBe(subnodeCount(blob));
    expect(JSON.stringify(r?.in?.subFdts[0]).length).toBeLessThan(2 << 20);
    // Two checks and two more passes; a walk slower per byte, or quadratic, breaks this.
    expect(t).toBeLessThan(8 * check + 500);
  }, 120_000);
});

/** A kho-v4 root with two subtrees, and a blob: the inputs the mutations below start from. */
function sampleRoot(): Uint8Array {
  const w = new DtbWriter().begin("").prop("compatible", str("kho-v4"));
  w.prop("preserved-memory-map", new Uint8Array([0, 0x10, 0, 0, 1, 0, 0, 0]));
  for (const n of ["LUO", "memblock"])
    w.begin(n)
      .prop("preserved-data", new Uint8Array([0, 0x20, 0, 0, 1, 0, 0, 0]))
      .prop("blob-size", new Uint8Array([0, 0x10, 0, 0, 0, 0, 0, 0]))
      .end();
  return w.end().finish();
}

describe("issue 13: debugfs decode of corrupted copies", () => {
  it("property: flipped, overwritten and truncated root FDTs and blobs decode to a report, never an exception", () => {
    const root = sampleRoot();
    const blob = deepDtb(200, "n", [["reg", new Uint8Array(8)]]);
    fc.assert(
      fc.property(
        fc.constantFrom(root, blob),
        fc.array(fc.tuple(fc.nat(), fc.nat(0xffffffff)), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (base, edits, cut) => {
          const b = base.slice(0, base.length - (cut % 8 === 0 ? cut % base.length : 0));
          const dv = new DataView(b.buffer);
          for (const [at, v] of edits) if (b.length >= 4) dv.setUint32((at % (b.length >> 2)) << 2, v);
          const r = decodeDebugfs(
            new Map([
              ["in/fdt", b],
              ["in/sub_fdts/memblock", b],
            ]),
          );
          expect(r.in?.subFdts).toHaveLength(1);
          expect(() => JSON.stringify(r)).not.toThrow();
        },
      ),
      { numRuns: 400, seed: 13 },
    );
  });
});
