import { counterPlugin } from "@khosim/example-counter";
import { type LiveUpdateHost, runScenario, runScenarioData, type Scenario } from "@khosim/kho-core";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { describe, expect, it } from "vitest";
import { defaultScenario } from "../src/scenarios/default.js";

const plugins = [kexecMetadataPlugin, counterPlugin];

/** The built-in chain as it was written before scenarios were data: closures on the host. */
function closureChain(): Scenario {
  const work = (host: LiveUpdateHost): void => {
    const counter = host.context(counterPlugin).state;
    counter.increment();
    counter.write(`written by ${host.kernel.release} (generation ${host.kernel.generation}), count ${counter.count}`);
  };
  const kernels = {
    A: { release: "7.2.0-rc1", plugins },
    B: { release: "7.2.0-rc1-custom", plugins },
  };
  const step = { run: "counter", action: work };
  return {
    name: "default",
    machine: defaultScenario.machine,
    kernels,
    steps: [{ boot: "A" }, step, { kexec: "B" }, step, { kexec: "A" }, step, { kexec: "B" }],
  };
}

describe("the built-in chain as data", () => {
  it("runs from a JSON scenario through the API with the same report as the closure chain", () => {
    const fromJson = runScenarioData(JSON.parse(JSON.stringify(defaultScenario)), plugins);
    const fromClosures = runScenario(closureChain());
    expect(fromJson.transitions).toHaveLength(4);
    expect(fromJson).toEqual(fromClosures);
    expect(fromJson.transitions[3]!.log).toContain("KHO: exec from: 7.2.0-rc1 (count 3)");
    expect(fromJson.transitions.every((t) => t.outcome === "running" && t.hookFailures.length === 0)).toBe(true);
  });
});
