import { type ComposedKernel, composeKernel, type VersionPin } from "../host/compose.js";
import type { AnyPlugin } from "../host/plugin.js";
import type { TransitionReport } from "../host/report.js";
import { LiveUpdateHost } from "../host/runner.js";
import { Machine, type MachineSpec } from "../kexec/machine.js";

/**
 * Two 256 MiB ranges with 4 KiB pages: a cold boot and a kexec take
 * milliseconds, and there is room for two 32 MiB kernel images and scratch.
 */
export const TEST_MACHINE: MachineSpec = {
  pageSize: "4KiB",
  ram: [
    { start: 0, size: "256MiB", nid: 0 },
    { start: "1GiB", size: "256MiB", nid: 0 },
  ],
};

/** One kernel of a chain: its release and, per node name, the versions it writes and accepts. */
export interface ChainKernel {
  readonly release: string;
  readonly versions?: Readonly<Record<string, VersionPin>>;
}

export interface KexecChainOptions {
  /** The plugins every kernel of the chain is composed of (add kexec-metadata yourself if you want it). */
  readonly plugins: readonly AnyPlugin[];
  /** The first kernel boots cold; every next one is a kexec from the one before. Two releases by default. */
  readonly kernels?: readonly (string | ChainKernel)[];
  readonly machine?: MachineSpec;
  /** The workload of each kernel, run once it is up and before the next kexec. */
  readonly workload?: (host: LiveUpdateHost, step: number) => void;
}

export interface KexecChain {
  readonly host: LiveUpdateHost;
  /** One report per transition: the cold boot first. */
  readonly reports: readonly TransitionReport[];
}

function compose(k: string | ChainKernel, plugins: readonly AnyPlugin[]): ComposedKernel {
  const spec = typeof k === "string" ? { release: k } : k;
  return composeKernel({
    release: spec.release,
    plugins: [...plugins],
    ...(spec.versions !== undefined ? { versions: spec.versions } : {}),
  });
}

/**
 * A cold boot and a kexec chain for a plugin's tests: every kernel is
 * composed before the first boot (a bad pin fails at once) and the
 * workload runs on each kernel that came up. An aborted kexec leaves the
 * source kernel running, so the chain goes on from it; a panic ends it.
 */
export function runKexecChain(opts: KexecChainOptions): KexecChain {
  const kernels = (opts.kernels ?? ["A", "B"]).map((k) => compose(k, opts.plugins));
  const host = new LiveUpdateHost(new Machine(opts.machine ?? TEST_MACHINE));
  kernels.forEach((k, step) => {
    if (step > 0 && host.machine.kernel?.state !== "running") return;
    if (step === 0) host.boot(k);
    else host.kexec(k);
    if (host.machine.kernel?.state === "running") opts.workload?.(host, step);
  });
  return { host, reports: host.reports };
}
