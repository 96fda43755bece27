import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  definePlugin,
  loadScenario,
  runScenario,
  runScenarioData,
  type ScenarioData,
  ScenarioError,
  scenarioSchema,
} from "../src/index.js";

/** A plugin whose state is a tally the workload adds to through an action. */
const tally = definePlugin({
  name: "tally",
  state: () => ({ total: 0 }),
  actions: {
    add: {
      args: z.strictObject({ n: z.number().int().positive() }),
      run(ctx, { n }) {
        ctx.state.total += n;
      },
    },
  },
  incoming: { finish: (ctx) => ctx.log.info(`total ${ctx.state.total}`) },
});

const base: ScenarioData = {
  name: "tally",
  machine: { pageSize: "4KiB", ram: [{ start: 0, size: "512MiB" }] },
  kernels: { A: { release: "A", plugins: ["tally"] }, B: { release: "B", plugins: ["tally"] } },
  steps: [
    { boot: "A" },
    { action: "tally.add", args: { n: 2 } },
    { action: "tally.add", args: { n: 3 } },
    { finish: true },
    { expect: { outcome: "running", bootKind: "cold", khoEnabled: true, anomalies: 0 } },
    { kexec: "B" },
    { expect: { bootKind: "kho", khoEnabled: true, log: ["tally: total 5"], restored: ["nothing"] } },
  ],
};

describe("scenarios as data (issue 9 item 6)", () => {
  it("runs actions with validated arguments and checks expectations against the last report", () => {
    const r = runScenarioData(JSON.parse(JSON.stringify(base)), [tally]);
    expect(r.transitions.map((t) => t.kind)).toEqual(["cold-boot", "kexec"]);
    expect(r.expectations).toEqual([
      { step: 4, transition: 0, failures: [] },
      {
        step: 6,
        transition: 1,
        // finish logged in A's log, not B's; B restored nothing: both reported, the run goes on.
        failures: ["restored: expected [nothing], got []", 'log has no line "tally: total 5"'],
      },
    ]);
  });

  it("a scenario with three mistakes gets three located errors", () => {
    const bad = {
      ...base,
      kernels: { A: { release: "A", plugins: ["tally", "ghost"] } },
      steps: [{ boot: "A" }, { action: "tally.add", args: { n: -1 } }, { kexec: "C" }],
    };
    let err: unknown;
    try {
      loadScenario(bad, [tally]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).code).toBe("EINVAL");
    expect((err as ScenarioError).issues).toEqual([
      { path: "kernels.A.plugins.1", at: ["kernels", "A", "plugins", 1], message: 'no plugin "ghost" (known: tally)' },
      {
        path: "steps.1.args.n",
        at: ["steps", 1, "args", "n"],
        message: expect.stringMatching(/>0|positive|greater than 0/i),
      },
      // Located at the field that names the kernel, so a file's line and column can be found from `at`.
      { path: "steps.2.kexec", at: ["steps", 2, "kexec"], message: 'no kernel "C"' },
    ]);
  });

  it("structural mistakes are all reported by the schema, each with its path", () => {
    const bad = {
      name: "broken",
      machine: { pageSize: "4KiB", ram: [] },
      kernels: { A: { release: "", plugins: ["tally"] } },
      steps: [{ boot: "A" }, { reboot: "A" }],
    };
    expect(() => loadScenario(bad, [tally])).toThrow(ScenarioError);
    const issues = (() => {
      try {
        loadScenario(bad, [tally]);
        return [];
      } catch (e) {
        return (e as ScenarioError).issues.map((i) => i.path);
      }
    })();
    expect(issues).toEqual(["machine.ram", "kernels.A.release", "steps.1"]);
  });

  it("an action of a plugin the running kernel lacks, or before any boot, is refused before anything runs", () => {
    const bad = {
      ...base,
      kernels: { A: { release: "A", plugins: [] } },
      steps: [{ action: "tally.add", args: { n: 1 } }, { boot: "A" }, { action: "tally.add", args: { n: 1 } }],
    };
    expect(() => loadScenario(bad, [tally])).toThrowError(
      /steps\.0\.action: an action before any boot; steps\.2\.action: kernel "A" has no plugin "tally"/,
    );
  });

  it("closures stay possible through the API", () => {
    const s = loadScenario(base, [tally]);
    let seen = -1;
    const r = runScenario({
      ...s,
      steps: [
        { boot: "A" },
        {
          run: "peek",
          action: (h) => {
            seen = h.kernel.generation;
          },
        },
      ],
    });
    expect(seen).toBe(1);
    expect(r.transitions).toHaveLength(1);
  });

  it("the schema is zod, so its JSON Schema can be generated", () => {
    const js = z.toJSONSchema(scenarioSchema) as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(js.properties)).toEqual(["name", "description", "machine", "kernels", "steps"]);
    expect(js.required).toEqual(["name", "machine", "kernels", "steps"]);
  });
});
