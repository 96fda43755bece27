import { describe, expect, it } from "vitest";
import { benchCases } from "../src/bench/index.js";
import { runLuoScale } from "../src/bench/sessions.js";

const clock = () => performance.now() * 1e6;

describe("issue 14: the LUO bench case", () => {
  it("every session and file of a live update comes back with its token and value, and finishes", () => {
    const r = runLuoScale({ sessions: 60, filesPerSession: 3 }, clock);
    expect(r.check).toBe("ok");
    for (const ns of [r.createNs, r.kexecNs, r.retrieveNs, r.finishNs]) expect(ns).toBeGreaterThan(0);
  });

  it("--quick gives a row per phase and the total of serialise + restore, without a reference", async () => {
    const [c] = benchCases;
    const rows = await c!.run({ quick: true, rounds: 1, clock: "cpu" });
    expect(rows.map((r) => r.case.replace(/:.*/, ""))).toEqual(new Array(5).fill("luo 2000 sessions x 10 files"));
    for (const r of rows) expect([r.ref, r.ratio, r.check, r.unit]).toEqual([null, null, "ok", "ms"]);
    const ms = Object.fromEntries(rows.map((r) => [r.case.replace(/^[^:]*: /, ""), r.ts!]));
    expect(ms["total serialise+restore"]).toBeCloseTo(
      ms["kexec (serialise, boot, restore chains)"]! + ms["retrieve sessions and files"]! + ms.finish!,
      6,
    );
  });
});
