import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { capture } from "./helpers/io.js";

const COUNTER = resolve(import.meta.dirname, "../../../examples/counter-plugin");

describe("kho sim", () => {
  it("runs the built-in chain and prints a report per transition", async () => {
    const io = capture();
    expect(await main(["sim"], io)).toBe(0);
    expect(io.stdout).toMatch(/^scenario default: .*\(kexec-metadata, luo, memfd-luo, hugetlb-sample\)\n/);
    expect(io.stdout.match(/^#\d+ /gm)).toEqual(["#0 ", "#1 ", "#2 ", "#3 "]);
    expect(io.stdout).toContain("KHO: exec from: 7.2.0-rc1 (count 1)");
    expect(io.stdout).toContain("KHO: exec from: 7.2.0-rc1-custom (count 2)");
    expect(io.stdout).toContain("KHO: exec from: 7.2.0-rc1 (count 3)");
  });

  it("--json prints the same chain as one JSON document", async () => {
    const io = capture();
    expect(await main(["sim", "--json"], io)).toBe(0);
    const doc = JSON.parse(io.stdout) as {
      scenario: string;
      transitions: { kind: string; outcome: string; subtrees: { restored: { name: string }[] } }[];
    };
    expect(doc.scenario).toBe("default");
    expect(doc.transitions.map((t) => t.kind)).toEqual(["cold-boot", "kexec", "kexec", "kexec"]);
    expect(doc.transitions.every((t) => t.outcome === "running")).toBe(true);
    expect(doc.transitions[3]!.subtrees.restored.map((s) => s.name)).toEqual([
      "LUO",
      "hugetlb-sample",
      "kexec-metadata",
    ]);
  });

  it("--plugin adds a third-party plugin to every kernel of the chain: its subtree crosses each kexec", async () => {
    const io = capture();
    expect(await main(["sim", "--plugin", COUNTER, "--json"], io), io.stderr).toBe(0);
    const doc = JSON.parse(io.stdout) as {
      transitions: { subtrees: { restored: { name: string; plugin: string }[] } }[];
    };
    for (const t of doc.transitions.slice(1))
      expect(t.subtrees.restored.map((s) => `${s.name} by ${s.plugin}`)).toEqual([
        "LUO by luo",
        "hugetlb-sample by hugetlb-sample",
        "counter by counter",
        "kexec-metadata by kexec-metadata",
      ]);
  });

  it("issue 8 item 1: default scratch placement follows the 2 MiB rule (CMA_MIN_ALIGNMENT_BYTES)", async () => {
    const io = capture();
    expect(await main(["sim", "--json"], io)).toBe(0);
    const doc = JSON.parse(io.stdout) as {
      transitions: { to: { handover: string; scratch: { addr: string; size: string }[] }; hazards: string[] }[];
    };
    const MiB = 2 ** 20;
    const scratch = doc.transitions[0]!.to.scratch.map((a) => ({ addr: Number(a.addr), size: Number(a.size) }));
    expect(scratch.length).toBe(4);
    for (const a of scratch) {
      expect(a.addr % (2 * MiB)).toBe(0);
      expect(a.size % (2 * MiB)).toBe(0);
    }
    // Global is 130 MiB (2 x 160 MiB reserved minus the unrounded 192 MiB - 2 lowmem share): not a 4 MiB multiple.
    expect(scratch[1]!.size).toBe(130 * MiB);
    expect(doc.transitions.map((t) => t.to.handover)).toEqual(["none", "honoured", "honoured", "honoured"]);
    expect(doc.transitions.every((t) => t.hazards.length === 0)).toBe(true);
  });

  it("carries LUO through every kexec: two sessions whose memfd contents each next kernel checks", async () => {
    const io = capture();
    expect(await main(["sim", "--json"], io)).toBe(0);
    const doc = JSON.parse(io.stdout) as {
      transitions: { subtrees: { restored: { name: string; compatible: string }[] }; log: string[] }[];
    };
    for (const [i, t] of doc.transitions.slice(1).entries()) {
      expect(t.subtrees.restored).toContainEqual(expect.objectContaining({ name: "LUO", compatible: "luo-v5" }));
      expect(t.log).toContain(`luo: Retrieved live update data, liveupdate number: ${i + 1}`);
    }
  });

  it("is deterministic: two runs print the same bytes", async () => {
    const a = capture();
    const b = capture();
    await main(["sim", "--json"], a);
    await main(["sim", "--json"], b);
    expect(b.stdout).toBe(a.stdout);
  });

  it("rejects unknown options", async () => {
    const io = capture();
    expect(await main(["sim", "--yaml=1"], io)).toBe(2);
    expect(io.stderr).toMatch(/^kho sim: Unknown option '--yaml'/);
  });
});
