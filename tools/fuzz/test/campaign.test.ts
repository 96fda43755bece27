import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// The campaign runs its targets in worker threads, which load the built JavaScript (npm test builds first).
import { type CampaignFailure, formatSummary, runCampaign } from "../dist/campaign.js";
import type { FuzzTarget } from "../dist/targets.js";

const fixtures = new URL("./fixtures/targets.mjs", import.meta.url).href;
const { TARGETS } = (await import(fixtures)) as { TARGETS: readonly FuzzTarget[] };

describe("issue 13 item 5: npm run fuzz records every failure as a reproducer", () => {
  it("a foreign exception (minimised), a hang and a heap blow-up each become <corpus>/<target>/<hash>", async () => {
    const corpusDir = mkdtempSync(join(tmpdir(), "khosim-fuzz-"));
    const started = Date.now();
    const summary = await runCampaign({
      targets: TARGETS,
      seconds: 12,
      seed: 1,
      corpusDir,
      inputMs: 500,
      heapMb: 64,
      targetsModule: fixtures,
    });
    // Bounded: the campaign ends near its time whatever the targets do.
    expect(Date.now() - started).toBeLessThan(30_000);
    const kinds = (target: string): string[] => summary.failures.filter((f) => f.target === target).map((f) => f.kind);
    expect(kinds("throws").length).toBeGreaterThan(0);
    expect(new Set(kinds("throws"))).toEqual(new Set(["foreign-exception"]));
    expect(kinds("hangs")[0]).toBe("hang");
    expect(kinds("grows")[0]).toBe("memory");
    for (const f of summary.failures as CampaignFailure[]) {
      expect(f.file.startsWith(join(corpusDir, f.target))).toBe(true);
      expect(existsSync(f.file)).toBe(true);
    }
    // The minimiser keeps only what makes it fail: one odd byte.
    const thrown = summary.failures.find((f) => f.target === "throws")!;
    const bytes = readFileSync(thrown.file);
    expect(bytes.length).toBe(1);
    expect(bytes[0]! % 2).toBe(1);
    expect(summary.targets.find((t) => t.target === "throws")!.executions).toBeGreaterThan(10);
    expect(formatSummary(summary)).toMatch(/^throws +\d+ executions/m);
  }, 60_000);
});
