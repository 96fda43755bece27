import { DEFAULT_MACHINE, type Scenario } from "@khosim/kho-core";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";

const A = "7.2.0-rc1";
const B = "7.2.0-rc1-custom";
const plugins = [kexecMetadataPlugin];

/**
 * The chain `kho sim` runs without arguments: a two-node 8 GiB machine with
 * 4 KiB pages, a cold boot of A, then A -> B -> A -> B.
 */
export const defaultScenario: Scenario = {
  name: "default",
  description: "cold boot, then three live updates between two releases",
  machine: DEFAULT_MACHINE,
  kernels: {
    A: { release: A, plugins },
    B: { release: B, plugins },
  },
  steps: [{ boot: "A" }, { kexec: "B" }, { kexec: "A" }, { kexec: "B" }],
};
