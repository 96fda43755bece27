import { type AnyPlugin, DEFAULT_MACHINE, type Scenario } from "@khosim/kho-core";

const A = "7.2.0-rc1";
const B = "7.2.0-rc1-custom";

/**
 * The chain `kho sim` runs: a two-node 8 GiB machine with 4 KiB pages, a
 * cold boot of A, then A -> B -> A -> B, every kernel composed of
 * `plugins` (the built-in ones and those loaded with --plugin or a config
 * file). The plugins' own hooks are the workload: what they preserve at
 * init and prepare crosses every kexec.
 */
export function defaultScenario(plugins: readonly AnyPlugin[]): Scenario {
  const names = plugins.map((p) => p.name).join(", ");
  return {
    name: "default",
    description: `cold boot, then three live updates between two releases (${names})`,
    machine: DEFAULT_MACHINE,
    kernels: {
      A: { release: A, plugins: [...plugins] },
      B: { release: B, plugins: [...plugins] },
    },
    steps: [{ boot: "A" }, { kexec: "B" }, { kexec: "A" }, { kexec: "B" }],
  };
}
