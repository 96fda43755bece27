import { parseFdt } from "@khosim/kho-core/fdt";
import { describe, expect, it } from "vitest";
import { inputAt } from "../src/inputs.js";
import { minimise } from "../src/minimise.js";
import { MAX_INPUT, mutate, Rng } from "../src/mutate.js";
import { targetNamed } from "../src/targets.js";

describe("issue 13 item 5: mutations and reproducers", () => {
  it("an input is a function of (target, seed, index): the supervisor regenerates what a worker ran", () => {
    const t = targetNamed("fdt-dts");
    expect(Buffer.compare(inputAt(t, 7, 123), inputAt(t, 7, 123))).toBe(0);
    expect(Buffer.compare(inputAt(t, 7, 123), inputAt(t, 8, 123))).not.toBe(0);
  });

  it("deepen nests a node many times over, widen repeats it side by side", () => {
    const seed = targetNamed("fdt-check").seeds()[1]!;
    const depth = (b: Uint8Array): number => {
      let d = 0;
      let max = 0;
      for (let i = 0; i + 4 <= b.length; i += 4) {
        const w = new DataView(b.buffer, b.byteOffset).getUint32(i);
        if (w === 1) max = Math.max(max, ++d);
        else if (w === 2) d--;
      }
      return max;
    };
    const deeper = [1, 2, 3, 4, 5, 6].map((s) => depth(mutate(seed, seed, new Rng(s), "deepen")));
    expect(Math.max(...deeper)).toBeGreaterThan(depth(seed) + 1);
    const wider = mutate(seed, seed, new Rng(3), "widen");
    expect(wider.length).toBeGreaterThan(seed.length);
    expect(parseFdt(seed).root.children.length).toBe(1);
  });

  it("stacked deepen, widen and duplicate stop at MAX_INPUT bytes", () => {
    let b = targetNamed("fdt-check").seeds()[1]!;
    const r = new Rng(5);
    for (let i = 0; i < 40; i++) b = mutate(b, b, r, (["deepen", "widen", "duplicate"] as const)[i % 3]);
    expect(b.length).toBeGreaterThan(MAX_INPUT / 2);
    expect(b.length).toBeLessThanOrEqual(MAX_INPUT);
  });

  it("an input already larger than MAX_INPUT is left that size by duplicate, deepen and widen", () => {
    const big = new Uint8Array(MAX_INPUT + 4096);
    big.set(targetNamed("fdt-check").seeds()[1]!);
    for (const kind of ["duplicate", "deepen", "widen"] as const)
      for (let s = 0; s < 20; s++) expect(mutate(big, big, new Rng(s), kind).length).toBe(big.length);
  });

  it("swap exchanges or redirects aligned 64-bit words and keeps the length", () => {
    const b = Uint8Array.from({ length: 64 }, (_, i) => i);
    for (let s = 1; s < 20; s++) {
      const m = mutate(b, b, new Rng(s), "swap");
      expect(m.length).toBe(64);
      const changed = [...m].flatMap((x, i) => (x === b[i] ? [] : [i >> 3]));
      for (const w of changed) expect(w).toBeLessThan(8);
    }
  });

  it("a failing input shrinks to the bytes that matter", () => {
    const input = Uint8Array.from({ length: 300 }, (_, i) => (i === 211 ? 0xaa : (i * 7) & 0x7f));
    const fails = (b: Uint8Array) => b.includes(0xaa);
    expect([...minimise(input, fails)]).toEqual([0xaa]);
  });
});
