import { describe, expect, it } from "vitest";
import { benchCases, simCheck } from "../src/bench/index.js";

const run = (status: number | null, stdout: string) => ({ wallMs: 1, cpuMs: 1, maxRssMiB: 1, status, stdout });
const report = (outcomes: string[], failures: unknown[][] = [], stopped = false) =>
  JSON.stringify({
    transitions: outcomes.map((outcome) => ({ outcome })),
    stopped,
    expectations: failures.map((f) => ({ failures: f })),
  });

describe("issue 14: the kho sim bench case", () => {
  it("runs the default scenario as a whole process: every transition running, every expectation held", async () => {
    const rows = await benchCases[0]!.run({ quick: true, rounds: 1, clock: "cpu" });
    expect(rows.map((r) => r.case)).toEqual([
      "kho sim default scenario (whole process): wall",
      "kho sim default scenario (whole process): cpu",
      "node with an empty script: wall",
      "node with an empty script: cpu",
    ]);
    for (const r of rows) {
      expect(r.check, r.case).toBe("ok");
      expect(r.ts, r.case).toBeGreaterThan(0);
      expect(r.rss_mib, r.case).toBeGreaterThan(0);
      expect([r.ref, r.ratio]).toEqual([null, null]);
    }
  }, 60_000);

  it("a run that fails, prints no JSON, stops early or misses an expectation fails its check", () => {
    expect(simCheck(run(0, report(["running", "running"], [[]])))).toBe("ok");
    expect(simCheck(run(1, report(["running"])))).toBe("kho sim exited with status 1");
    expect(simCheck(run(0, "scenario default"))).toBe("kho sim --json did not print JSON");
    expect(simCheck(run(0, report(["running", "panic"])))).toBe("2 transitions, 1 not running, 0 expectations failed");
    expect(simCheck(run(0, report(["running"], [[], ["x"]])))).toBe(
      "1 transitions, 0 not running, 1 expectations failed",
    );
    expect(simCheck(run(0, report(["running"], [], true)))).not.toBe("ok");
  });
});
