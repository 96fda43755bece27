import { runScenario, runScenarioData, type Scenario, type ScenarioStep } from "@khosim/kho-core";
import { luoStep } from "@khosim/plugin-luo";
import { describe, expect, it } from "vitest";
import { BUILTIN_PLUGINS } from "../src/plugins.js";
import { defaultScenario } from "../src/scenarios/default.js";

const names = BUILTIN_PLUGINS.map((p) => p.name);

/** The built-in chain written with closures on the host, as it was before scenarios were data. */
function closureChain(): Scenario {
  const data = defaultScenario(names);
  const kernels = Object.fromEntries(
    Object.entries(data.kernels).map(([id, k]) => [id, { ...k, plugins: [...BUILTIN_PLUGINS] }]),
  );
  const steps = data.steps.map((s): ScenarioStep => {
    if (!("action" in s)) return s as ScenarioStep;
    const [, name] = s.action.split(".");
    // The same LUO operation, called on the plugin's own context rather than looked up by name.
    return luoStep(name as Parameters<typeof luoStep>[0], s.args as never);
  });
  return { name: data.name, machine: data.machine, kernels, steps } as Scenario;
}

describe("the built-in chain as data", () => {
  it("runs from a JSON scenario through the API with the same report as the closure chain", () => {
    const fromJson = runScenarioData(JSON.parse(JSON.stringify(defaultScenario(names))), BUILTIN_PLUGINS);
    const fromClosures = runScenario(closureChain());
    expect(fromJson.transitions).toHaveLength(4);
    expect(fromJson.transitions).toEqual(fromClosures.transitions);
    expect(fromJson.transitions[3]!.log).toContain("KHO: exec from: 7.2.0-rc1 (count 3)");
    expect(fromJson.transitions.every((t) => t.outcome === "running" && t.hookFailures.length === 0)).toBe(true);
  });
});
