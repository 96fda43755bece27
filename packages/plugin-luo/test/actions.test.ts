import { runScenario } from "@khosim/kho-core";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { describe, expect, it } from "vitest";
import { luoPlugin, luoStep, memfdLuoPlugin } from "../src/index.js";
import { LUO_CMDLINE } from "./helpers.js";

const kernels = {
  A: { release: "A", cmdline: LUO_CMDLINE, plugins: [kexecMetadataPlugin, luoPlugin, memfdLuoPlugin] },
  B: { release: "B", cmdline: LUO_CMDLINE, plugins: [kexecMetadataPlugin, luoPlugin, memfdLuoPlugin] },
};
const machine = { pageSize: "4KiB", ram: [{ start: 0, size: "512MiB" }] };

describe("LUO scenario actions", () => {
  it("run the ioctls as steps across a kexec, checking the memfd contents", () => {
    const r = runScenario({
      name: "actions",
      machine,
      kernels,
      steps: [
        { boot: "A" },
        luoStep("createSession", { name: "vm" }),
        luoStep("preserveMemfd", { session: "vm", token: 7, text: "hello" }),
        { kexec: "B" },
        luoStep("retrieveSession", { name: "vm" }),
        luoStep("retrieveMemfd", { session: "vm", token: 7n, expect: "hello" }),
        luoStep("finishSession", { name: "vm" }),
      ],
    });
    expect(r.transitions.map((t) => t.outcome)).toEqual(["running", "running"]);
  });

  it("arguments are checked against the action's schema before anything runs", () => {
    const run = (step: ReturnType<typeof luoStep>) =>
      runScenario({ name: "bad", machine, kernels, steps: [{ boot: "A" }, step] });
    expect(() => run(luoStep("createSession", { name: "x".repeat(64) }))).toThrow(/luo.createSession/);
    expect(() => run(luoStep("preserveMemfd", { session: "s", token: -1, text: "" }))).toThrow(/luo.preserveMemfd/);
    expect(() => run(luoStep("retrieveMemfd", { session: "s", token: 1, expect: "x", extra: 1 } as never))).toThrow(
      /luo.retrieveMemfd/,
    );
  });

  it("a memfd that does not hold what the step expects fails the step with EIO", () => {
    expect(() =>
      runScenario({
        name: "mismatch",
        machine,
        kernels,
        steps: [
          { boot: "A" },
          luoStep("createSession", { name: "vm" }),
          luoStep("preserveMemfd", { session: "vm", token: 1, text: "one" }),
          { kexec: "B" },
          luoStep("retrieveSession", { name: "vm" }),
          luoStep("retrieveMemfd", { session: "vm", token: 1, expect: "two" }),
        ],
      }),
    ).toThrow(/memfd 1 of "vm" holds "one"/);
  });
});
