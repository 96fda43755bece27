import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { inputAt } from "../src/inputs.js";
import { MUTATIONS, mutate, Rng } from "../src/mutate.js";
import { TARGETS } from "../src/targets.js";

/**
 * One seed for every property, so a run is the same on every machine: an
 * input that loops forever cannot be interrupted in-process (the campaign's
 * workers bound those), so the suite runs inputs known to end.
 */
const SEED = 0x6b686f;

/** Runs per property: memory targets boot a kernel per input (milliseconds), the others decode in microseconds. */
function runsFor(name: string): number {
  return /^(handover|subtree|radix|luo|scenario|single)/.test(name) ? 12 : 150;
}

describe("issue 13 item 5: fast-check properties over every decoder target", () => {
  it("the registry names every decoder the issue lists", () => {
    expect(TARGETS.map((t) => t.name)).toEqual([
      "fdt-check",
      "fdt-parse",
      "fdt-dts",
      "fdt-canon",
      "debugfs-root",
      "debugfs-blob",
      "image",
      "scenario",
      "handover-fdt",
      "subtree-kexec-metadata",
      "subtree-luo",
      "subtree-hugetlb-sample",
      "subtree-counter",
      "radix-pages",
      "luo-pages",
      "single-byte-sweep",
    ]);
  });

  for (const t of TARGETS) {
    describe(t.name, () => {
      it("accepts its own seeds", () => {
        for (const seed of t.seeds()) expect(t.exec(seed)).toEqual({ kind: "ok" });
      });

      // exec throws ContractViolation on a foreign exception: fast-check shrinks and reports it.
      it("random bytes: only KhoError or a panic", () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 1024 }), (b) => void t.exec(b)),
          { numRuns: runsFor(t.name), interruptAfterTimeLimit: 10_000, seed: SEED },
        );
      });

      it("each structured mutation of a valid input (flip, truncate, splice, duplicate, swap, deepen, widen)", () => {
        const seeds = t.seeds();
        fc.assert(
          fc.property(fc.constantFrom(...MUTATIONS), fc.nat(), fc.nat(), (kind, i, s) => {
            const r = new Rng(s);
            void t.exec(mutate(seeds[i % seeds.length]!, seeds[s % seeds.length]!, r, kind));
          }),
          { numRuns: runsFor(t.name), interruptAfterTimeLimit: 10_000, seed: SEED },
        );
      });

      it("stacked mutations as the campaign makes them", () => {
        fc.assert(
          fc.property(fc.nat(), fc.nat({ max: 1 << 20 }), (seed, index) => void t.exec(inputAt(t, seed, index))),
          { numRuns: runsFor(t.name), interruptAfterTimeLimit: 10_000, seed: SEED },
        );
      });
    });
  }
});
