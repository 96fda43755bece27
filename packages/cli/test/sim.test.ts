import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { capture } from "./helpers/io.js";

const COUNTER = resolve(import.meta.dirname, "../../../examples/counter-plugin");
const tmp = mkdtempSync(join(tmpdir(), "khosim-sim-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("kho sim", () => {
  it("--plugin with the default chain builds the plugin into each kernel: its subtree crosses each kexec", async () => {
    const io = capture();
    expect(await main(["sim", "--plugin", COUNTER, "--json"], io), io.stderr).toBe(0);
    const doc = JSON.parse(io.stdout) as { transitions: { subtrees: { restored: { name: string }[] } }[] };
    for (const t of doc.transitions.slice(1)) expect(t.subtrees.restored.map((s) => s.name)).toContain("counter");
    expect(doc.transitions[3]!.subtrees.restored.map((s) => s.name)).toEqual(["LUO", "counter", "kexec-metadata"]);
  });

  it("issue 12 must-show: the README's main command prints the default scenario's report, exit 0", async () => {
    const io = capture();
    expect(await main(["sim"], io)).toBe(0);
    expect(io.stdout).toMatch(/^scenario default: /);
    expect(io.stdout).toContain(
      "machine: 4096-byte pages, RAM 0x0+0x100000000 (node 0), 0x100000000+0x100000000 (node 1)",
    );
    expect(io.stdout.match(/^#\d+ .*/gm)).toEqual([
      "#0 cold boot -> 7.2.0-rc1",
      "#1 kexec 7.2.0-rc1 -> 7.2.0-rc1-custom [kho boot]",
      "#2 kexec 7.2.0-rc1-custom -> 7.2.0-rc1 [kho boot]",
      "#3 kexec 7.2.0-rc1 -> 7.2.0-rc1-nohuge [kho boot]",
    ]);
    expect(io.stdout).toContain("KHO: exec from: 7.2.0-rc1 (count 1)");
    expect(io.stdout).toContain("KHO: exec from: 7.2.0-rc1-custom (count 2)");
    expect(io.stdout).toContain("KHO: exec from: 7.2.0-rc1 (count 3)");
    // Huge folios of both nodes (order 9 on node 0, order 18 on node 1) and who pinned which pages.
    expect(io.stdout).toMatch(
      /preserved: \d+ blocks, \d+ pages \(order 0: \d+, order 9: 8, order 18: 1\); pages by owner: /,
    );
    expect(io.stdout).toContain(
      "    hugetlb-sample: restored 9 huge folios (0x41000000 bytes) from hugetlb-sample-v1\n",
    );
    // The refusal: a kernel built without hugetlb-sample leaves its subtree orphaned.
    expect(io.stdout).toContain("  orphaned:\n    hugetlb-sample: no plugin for this node");
    expect(io.stdout).toMatch(/\nexpectations: (\d+) of \1 hold\n/);
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
    expect(doc.transitions[2]!.subtrees.restored.map((s) => s.name)).toEqual([
      "LUO",
      "hugetlb-sample",
      "kexec-metadata",
    ]);
    expect(doc.transitions[3]!.subtrees.restored.map((s) => s.name)).toEqual(["LUO", "kexec-metadata"]);
  });

  it("--plugin makes a third-party plugin a scenario file can name: its subtree crosses each kexec", async () => {
    const file = join(tmp, "counter.yaml");
    writeFileSync(
      file,
      `name: counter
machine: { pageSize: 4KiB, ram: [{ start: 0, size: 1GiB }] }
kernels:
  A: { release: a, plugins: [kexec-metadata, counter] }
steps:
  - boot: A
  - { action: counter.increment, args: { by: 2 } }
  - kexec: A
  - kexec: A
  - expect: { restored: [counter, kexec-metadata] }
`,
    );
    const io = capture();
    expect(await main(["sim", file, "--plugin", COUNTER, "--json"], io), io.stderr).toBe(0);
    const doc = JSON.parse(io.stdout) as {
      transitions: { subtrees: { restored: { name: string; plugin: string }[] } }[];
    };
    for (const t of doc.transitions.slice(1))
      expect(t.subtrees.restored.map((s) => `${s.name} by ${s.plugin}`)).toEqual([
        "counter by counter",
        "kexec-metadata by kexec-metadata",
      ]);
    const without = capture();
    expect(await main(["sim", file], without)).toBe(2);
    expect(without.stderr).toContain(`${file}:4:46: kernels.A.plugins.1: no plugin "counter" (known: kexec-metadata,`);
    expect(without.stderr).toContain(`${file}:7:7: steps.1.action: kernel "A" has no plugin "counter"`);
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
