import { counterPlugin } from "@khosim/example-counter";
import { DEFAULT_MACHINE, type LiveUpdateHost, type Scenario } from "@khosim/kho-core";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { luoPlugin, memfdLuoPlugin } from "@khosim/plugin-luo";
import { luoWorkload } from "./luo.js";

const A = "7.2.0-rc1";
const B = "7.2.0-rc1-custom";
const plugins = [kexecMetadataPlugin, counterPlugin, luoPlugin, memfdLuoPlugin];
/** LUO runs only with liveupdate=on. */
const cmdline = "kho=on liveupdate=on";

/** Workload: bump the counter and leave a note naming the kernel that wrote it. */
function work(host: LiveUpdateHost): void {
  const counter = host.context(counterPlugin).state;
  counter.increment();
  counter.write(`written by ${host.kernel.release} (generation ${host.kernel.generation}), count ${counter.count}`);
}

/**
 * The chain `kho sim` runs without arguments: a two-node 8 GiB machine with
 * 4 KiB pages, a cold boot of A, then A -> B -> A -> B, with kexec-metadata
 * and the example counter plugin; each kernel bumps the counter and rewrites
 * its buffer before handing over. LUO carries two sessions with a memfd
 * each through every kexec (scenarios/luo.ts).
 */
export const defaultScenario: Scenario = {
  name: "default",
  description: "cold boot, then three live updates between two releases (kexec-metadata, example counter, LUO)",
  machine: DEFAULT_MACHINE,
  kernels: {
    A: { release: A, cmdline, plugins },
    B: { release: B, cmdline, plugins },
  },
  steps: [
    { boot: "A" },
    { run: "counter", action: work },
    ...luoWorkload(1),
    { kexec: "B" },
    { run: "counter", action: work },
    ...luoWorkload(2),
    { kexec: "A" },
    { run: "counter", action: work },
    ...luoWorkload(3),
    { kexec: "B" },
    ...luoWorkload(4),
  ],
};
