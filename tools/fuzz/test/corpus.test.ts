import { describe, expect, it } from "vitest";
import { readCorpus } from "../src/corpus.js";
import { TARGETS, targetNamed } from "../src/targets.js";

/** Per input: the campaign calls an input running longer a hang (its default --input-ms). */
const INPUT_MS = 10_000;

describe("issue 13 item 5: the regression corpus is replayed", () => {
  const corpus = readCorpus();

  it("every reproducer belongs to a registered target", () => {
    expect(corpus.length).toBeGreaterThan(0);
    const names = new Set(TARGETS.map((t) => t.name));
    for (const r of corpus) expect(names.has(r.target), r.file).toBe(true);
  });

  for (const r of corpus)
    it(`${r.target}/${r.file.split("/").at(-1)}: a KhoError or a result, within ${INPUT_MS} ms`, () => {
      const started = performance.now();
      targetNamed(r.target).exec(r.bytes);
      expect(performance.now() - started).toBeLessThan(INPUT_MS);
    });

  // Found by the single-byte sweep: the kexec threw FdtError out of kho_retrieve_subtree
  // (a broken length in the first child of the root) instead of booting with a report.
  it("handover-fdt reproducers: the incoming kernel boots and reports", () => {
    const handover = corpus.filter((r) => r.target === "handover-fdt");
    expect(handover.length).toBeGreaterThanOrEqual(3);
    for (const r of handover) expect(targetNamed(r.target).exec(r.bytes), r.file).toEqual({ kind: "ok" });
  });
});
