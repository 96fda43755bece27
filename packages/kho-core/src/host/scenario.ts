import { KhoError } from "../errors.js";
import { Machine, type MachineSpec } from "../kexec/machine.js";
import { type ComposedKernel, composeKernel, type KernelComposition } from "./compose.js";
import type { TransitionReport } from "./report.js";
import { LiveUpdateHost } from "./runner.js";

/** One step of a chain: boot or kexec a named kernel, or run workload on the current one. */
export type ScenarioStep =
  | { readonly boot: string }
  | { readonly kexec: string }
  | { readonly finish: true }
  | { readonly run: string; readonly action: (host: LiveUpdateHost) => void };

/** A machine, the kernels that may run on it, and the chain of steps. */
export interface Scenario {
  readonly name: string;
  readonly description?: string;
  readonly machine: MachineSpec;
  readonly kernels: Readonly<Record<string, KernelComposition>>;
  readonly steps: readonly ScenarioStep[];
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly machine: { readonly pageSize: number; readonly ram: { start: string; size: string; nid: number }[] };
  readonly transitions: TransitionReport[];
  /** True when the chain stopped early: a kernel panicked. */
  readonly stopped: boolean;
}

/**
 * Runs a scenario: every kernel is composed (and validated) before the
 * first step, so a composition error costs no boot. A panicked kernel ends
 * the chain; the result says so.
 */
export function runScenario(s: Scenario): ScenarioResult {
  const composed = new Map<string, ComposedKernel>();
  for (const [name, k] of Object.entries(s.kernels)) composed.set(name, composeKernel(k));
  const kernel = (name: string): ComposedKernel => {
    const k = composed.get(name);
    if (!k) throw new KhoError("ENOENT", `scenario "${s.name}" has no kernel "${name}"`);
    return k;
  };
  const host = new LiveUpdateHost(new Machine(s.machine));
  let stopped = false;
  for (const step of s.steps) {
    if (host.machine.kernel?.state === "panicked") {
      stopped = true;
      break;
    }
    if ("boot" in step) host.boot(kernel(step.boot));
    else if ("kexec" in step) host.kexec(kernel(step.kexec));
    else if ("finish" in step) host.finish();
    else step.action(host);
  }
  const mem = host.machine.mem;
  return {
    scenario: s.name,
    machine: {
      pageSize: mem.pageSize,
      ram: mem.ranges.map((r) => ({
        start: `0x${r.start.toString(16)}`,
        size: `0x${r.size.toString(16)}`,
        nid: r.nid,
      })),
    },
    transitions: host.reports,
    stopped,
  };
}
