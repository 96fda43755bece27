import { KernelPanic, KhoError } from "../errors.js";
import { type Handover, Machine, type MachineSpec } from "../kexec/machine.js";
import type { MemoryMap } from "../kexec/memory-map.js";
import { type ComposedKernel, composeKernel, type KernelComposition } from "./compose.js";
import type { AnyPlugin } from "./plugin.js";
import type { TransitionReport } from "./report.js";
import { LiveUpdateHost } from "./runner.js";
import { type Expectation, scenarioSchema } from "./scenario-schema.js";

/**
 * One step of a chain: boot or kexec a named kernel, finish, run a
 * plugin's action (`{ action: "counter.write", args }`), check the last
 * report, or, through the API only, run a closure on the host.
 */
export type ScenarioStep =
  | { readonly boot: string }
  | { readonly kexec: string }
  | { readonly finish: true }
  | { readonly action: string; readonly args?: unknown }
  | { readonly expect: Expectation }
  | { readonly run: string; readonly action: (host: LiveUpdateHost) => void };

/** A machine, the kernels that may run on it, and the chain of steps. */
export interface Scenario {
  readonly name: string;
  readonly description?: string;
  readonly machine: MachineSpec;
  readonly kernels: Readonly<Record<string, KernelComposition>>;
  readonly steps: readonly ScenarioStep[];
}

/** An `expect` step and what did not hold (empty when it passed). */
export interface ExpectationResult {
  readonly step: number;
  /** The report the expectation was checked against. */
  readonly transition: number | null;
  readonly failures: readonly string[];
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly machine: { readonly pageSize: number; readonly ram: { start: string; size: string; nid: number }[] };
  readonly transitions: TransitionReport[];
  /** True when the chain stopped early: a kernel panicked. */
  readonly stopped: boolean;
  readonly expectations: readonly ExpectationResult[];
  /** With `{ memoryMaps: true }`: the memory map of each transition, by transition index (LiveUpdateHost). */
  readonly memoryMaps?: readonly MemoryMap[];
}

export interface RunScenarioOptions {
  /** Capture a memory map per transition (`kho sim --svg/--html`). */
  readonly memoryMaps?: boolean;
  /** Called at each kexec's jump (LiveUpdateHostOptions.atJump). */
  readonly atJump?: (machine: Machine, handover: Handover, transition: number) => void;
}

/** One thing wrong with a scenario, located by its path in the data ("steps.3.args.by"). */
export interface ScenarioIssue {
  readonly path: string;
  readonly message: string;
}

/** A scenario that does not validate: every issue found, not only the first. */
export class ScenarioError extends KhoError {
  override readonly name = "ScenarioError";
  constructor(
    readonly scenario: string,
    readonly issues: readonly ScenarioIssue[],
  ) {
    super("EINVAL", `scenario ${scenario}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  }
}

const pathOf = (path: readonly PropertyKey[]): string => path.map(String).join(".") || "(root)";

/** What is wrong with one action step, given the kernel running then. */
function actionIssues(s: Scenario, running: string, step: { action: string; args?: unknown }, at: string) {
  const dot = step.action.indexOf(".");
  const pluginName = step.action.slice(0, dot);
  const plugin = s.kernels[running]!.plugins.find((p) => p.name === pluginName);
  if (!plugin) return [{ path: `${at}.action`, message: `kernel "${running}" has no plugin "${pluginName}"` }];
  const action = plugin.actions?.[step.action.slice(dot + 1)];
  if (!action) {
    const known = Object.keys(plugin.actions ?? {}).join(", ") || "none";
    return [{ path: `${at}.action`, message: `plugin "${pluginName}" has no such action (it has ${known})` }];
  }
  const parsed = action.args.safeParse(step.args ?? {});
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => ({ path: pathOf([at, "args", ...issue.path]), message: issue.message }));
}

/**
 * Checks the steps against the kernels and the actions of their plugins,
 * following which kernel runs at each step (as written: a kexec the
 * workload aborts at run time is not foreseen).
 */
function checkSteps(s: Scenario, issues: ScenarioIssue[]): void {
  let running: string | null = null;
  for (const [i, step] of s.steps.entries()) {
    const at = `steps.${i}`;
    const target = "boot" in step ? step.boot : "kexec" in step ? step.kexec : null;
    if (target !== null) {
      if (!(target in s.kernels)) issues.push({ path: at, message: `no kernel "${target}"` });
      else if ("kexec" in step && running === null)
        issues.push({ path: at, message: "kexec before any boot: boot a kernel first" });
      else running = target;
    } else if ("action" in step && !("run" in step)) {
      if (running === null) issues.push({ path: at, message: "an action before any boot" });
      else issues.push(...actionIssues(s, running, step, at));
    }
  }
}

/**
 * A scenario from data: validated against `scenarioSchema`, plugin names
 * resolved from `plugins`, every step's action and arguments checked
 * against the plugins of the kernel running then. Throws one
 * ScenarioError listing every issue with its path.
 */
export function loadScenario(data: unknown, plugins: readonly AnyPlugin[]): Scenario {
  const name = (data as { name?: unknown } | null)?.name;
  const label = typeof name === "string" ? name : "(unnamed)";
  const parsed = scenarioSchema.safeParse(data);
  if (!parsed.success)
    throw new ScenarioError(
      label,
      parsed.error.issues.map((i) => ({ path: pathOf(i.path), message: i.message })),
    );
  const d = parsed.data;
  const issues: ScenarioIssue[] = [];
  const byName = new Map(plugins.map((p) => [p.name, p]));
  const kernels: Record<string, KernelComposition> = {};
  for (const [k, spec] of Object.entries(d.kernels)) {
    const found: AnyPlugin[] = [];
    spec.plugins.forEach((p, i) => {
      const plugin = byName.get(p);
      if (plugin) found.push(plugin);
      else
        issues.push({
          path: `kernels.${k}.plugins.${i}`,
          message: `no plugin "${p}" (known: ${[...byName.keys()].join(", ") || "none"})`,
        });
    });
    kernels[k] = { ...spec, plugins: found };
  }
  const scenario: Scenario = { ...d, kernels, steps: d.steps as ScenarioStep[] };
  checkSteps(scenario, issues);
  if (issues.length) throw new ScenarioError(d.name, issues);
  return scenario;
}

const same = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** What of an expectation does not hold for a report. */
function check(e: Expectation, r: TransitionReport | undefined): string[] {
  if (!r) return ["no transition has happened yet"];
  const out: string[] = [];
  const eq = (what: string, want: unknown, got: unknown) => {
    if (want !== undefined && want !== got) out.push(`${what}: expected ${String(want)}, got ${String(got)}`);
  };
  eq("outcome", e.outcome, r.outcome);
  eq("bootKind", e.bootKind, r.to?.bootKind);
  eq("khoEnabled", e.khoEnabled, r.to?.khoEnabled);
  eq("anomalies", e.anomalies, r.anomalies.length);
  eq("hookFailures", e.hookFailures, r.hookFailures.length);
  for (const k of ["restored", "refused", "orphaned", "lost"] as const) {
    const want = e[k];
    const got = r.subtrees[k].map((s) => s.name);
    if (want && !same(want, got)) out.push(`${k}: expected [${want.join(", ")}], got [${got.join(", ")}]`);
  }
  for (const line of e.log ?? []) if (!r.log.includes(line)) out.push(`log has no line "${line}"`);
  return out;
}

/**
 * Runs a scenario: every kernel is composed (and validated) before the
 * first step, so a composition error costs no boot. A panicked kernel ends
 * the chain; the result says so.
 */
export function runScenario(s: Scenario, opts: RunScenarioOptions = {}): ScenarioResult {
  const composed = new Map<string, ComposedKernel>();
  for (const [name, k] of Object.entries(s.kernels)) composed.set(name, composeKernel(k));
  const kernel = (name: string): ComposedKernel => {
    const k = composed.get(name);
    if (!k) throw new KhoError("ENOENT", `scenario "${s.name}" has no kernel "${name}"`);
    return k;
  };
  const host = new LiveUpdateHost(new Machine(s.machine), opts);
  const expectations: ExpectationResult[] = [];
  let stopped = false;
  for (const [i, step] of s.steps.entries()) {
    if (host.machine.kernel?.state === "panicked") {
      stopped = true;
      break;
    }
    try {
      if ("boot" in step) host.boot(kernel(step.boot));
      else if ("kexec" in step) host.kexec(kernel(step.kexec));
      else if ("finish" in step) host.finish();
      else if ("expect" in step) {
        const last = host.reports.at(-1);
        expectations.push({ step: i, transition: last?.index ?? null, failures: check(step.expect, last) });
      } else if ("run" in step) step.action(host);
      else host.action(step.action, step.args);
    } catch (e) {
      // A panic outside a transition (in finish or the workload) stops the chain; the kernel log has it.
      if (!(e instanceof KernelPanic)) throw e;
    }
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
    expectations,
    ...(opts.memoryMaps ? { memoryMaps: host.memoryMaps } : {}),
  };
}

/** loadScenario then runScenario: a scenario file's whole life. */
export function runScenarioData(
  data: unknown,
  plugins: readonly AnyPlugin[],
  opts: RunScenarioOptions = {},
): ScenarioResult {
  return runScenario(loadScenario(data, plugins), opts);
}
