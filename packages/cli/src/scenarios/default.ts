import type { ScenarioData } from "@khosim/kho-core";
import { luoWorkload } from "./luo.js";

const A = "7.2.0-rc1";
const B = "7.2.0-rc1-custom";
/** LUO runs only with liveupdate=on. */
const cmdline = "kho=on liveupdate=on";

/**
 * The chain `kho sim` runs, as data: a two-node 8 GiB machine with 4 KiB
 * pages, a cold boot of A, then A -> B -> A -> B, every kernel composed of
 * the plugins named (the built-in ones and those loaded with --plugin or a
 * config file). LUO carries two sessions with a memfd each through every
 * kexec (scenarios/luo.ts); the other plugins' own hooks are their workload.
 */
export function defaultScenario(plugins: readonly string[]): ScenarioData {
  return {
    name: "default",
    description: `cold boot, then three live updates between two releases (${plugins.join(", ")})`,
    machine: {
      pageSize: "4KiB",
      ram: [
        { start: 0, size: "4GiB", nid: 0 },
        { start: "4GiB", size: "4GiB", nid: 1 },
      ],
    },
    kernels: {
      A: { release: A, cmdline, plugins: [...plugins] },
      B: { release: B, cmdline, plugins: [...plugins] },
    },
    steps: [
      { boot: "A" },
      ...luoWorkload(1),
      { kexec: "B" },
      ...luoWorkload(2),
      { kexec: "A" },
      ...luoWorkload(3),
      { kexec: "B" },
      ...luoWorkload(4),
    ],
  };
}
