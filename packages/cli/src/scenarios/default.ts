import type { ScenarioData } from "@khosim/kho-core";

const A = "7.2.0-rc1";
const B = "7.2.0-rc1-custom";
const plugins = ["kexec-metadata", "counter"];
/** Workload between kexecs: bump the counter and leave a note naming the kernel that wrote it. */
const work = { action: "counter.stamp" };

/**
 * The chain `kho sim` runs without arguments, as data: a two-node 8 GiB
 * machine with 4 KiB pages, a cold boot of A, then A -> B -> A -> B, with
 * kexec-metadata and the example counter plugin; each kernel bumps the
 * counter and rewrites its buffer before handing over.
 */
export const defaultScenario: ScenarioData = {
  name: "default",
  description: "cold boot, then three live updates between two releases (kexec-metadata, example counter)",
  machine: {
    pageSize: "4KiB",
    ram: [
      { start: 0, size: "4GiB", nid: 0 },
      { start: "4GiB", size: "4GiB", nid: 1 },
    ],
  },
  kernels: {
    A: { release: A, plugins },
    B: { release: B, plugins },
  },
  steps: [{ boot: "A" }, work, { kexec: "B" }, work, { kexec: "A" }, work, { kexec: "B" }],
};
