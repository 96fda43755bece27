import type { z } from "zod";
import { isKhoError, KernelPanic, KhoError } from "../errors.js";
import { type Handover, Machine, type MachineSpec } from "../kexec/machine.js";
import type { MemoryMap } from "../kexec/memory-map.js";
import { parseSize } from "../units.js";
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
  | { readonly action: string; readonly args?: unknown; readonly fails?: string }
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

/**
 * An `expect` step and what did not hold (empty when it passed); also an
 * action step that failed, or that was to fail (`fails`) and did not.
 */
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
  /** True when the chain stopped early: a kernel panicked and a step other than `expect` or `boot` came next. */
  readonly stopped: boolean;
  readonly expectations: readonly ExpectationResult[];
  /** With `{ memoryMaps: true }`: the memory map of each transition, by transition index (LiveUpdateHost). */
  readonly memoryMaps?: readonly MemoryMap[];
}

/** What a caller sees of a run as it goes (`kho sim --out`, progress). */
export interface ScenarioObserver {
  /** At each kexec's jump, before the next kernel has run anything: memory as it was handed over. */
  jump?(machine: Machine, handover: Handover, transition: number): void;
  /** After each transition (boot or kexec), with the host still on the kernel it left running. */
  transition?(report: TransitionReport, host: LiveUpdateHost, step: number): void;
}

export interface RunScenarioOptions extends ScenarioObserver {
  /** Capture a memory map per transition (`kho sim --svg/--html`). */
  readonly memoryMaps?: boolean;
}

/** One thing wrong with a scenario, located by its path in the data ("steps.3.args.by"). */
export interface ScenarioIssue {
  readonly path: string;
  /** The same path as keys and indexes, to find the value in the file it came from. */
  readonly at: readonly (string | number)[];
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

/** An issue at a path of keys and indexes (zod's symbols, never used by a scenario, become strings). */
function issue(path: readonly PropertyKey[], message: string): ScenarioIssue {
  const at = path.map((k) => (typeof k === "number" ? k : String(k)));
  return { path: at.join(".") || "(root)", at, message };
}

/**
 * A zod issue as scenario issues: an unknown key is located at the key
 * itself (one issue per key); a step that matches no kind but comes
 * closest to one (fewest issues, and only one kind that close) gets that
 * kind's issues, so `expect: { outcome: sleeping }` names `outcome`.
 */
function located(i: z.core.$ZodIssue): ScenarioIssue[] {
  if (i.code === "unrecognized_keys") return i.keys.map((k) => issue([...i.path, k], `unknown key "${k}"`));
  if (i.code === "invalid_union" && i.errors.length) {
    const fewest = Math.min(...i.errors.map((e) => e.length));
    const closest = i.errors.filter((e) => e.length === fewest);
    if (closest.length === 1)
      return closest[0]!.flatMap((inner) => located({ ...inner, path: [...i.path, ...inner.path] }));
  }
  return [issue(i.path, i.message)];
}

/** What is wrong with one action step, given the kernel running then. */
function actionIssues(s: Scenario, running: string, step: { action: string; args?: unknown }, i: number) {
  const dot = step.action.indexOf(".");
  const pluginName = step.action.slice(0, dot);
  const plugin = s.kernels[running]!.plugins.find((p) => p.name === pluginName);
  if (!plugin) return [issue(["steps", i, "action"], `kernel "${running}" has no plugin "${pluginName}"`)];
  const action = plugin.actions?.[step.action.slice(dot + 1)];
  if (!action) {
    const known = Object.keys(plugin.actions ?? {}).join(", ") || "none";
    return [issue(["steps", i, "action"], `plugin "${pluginName}" has no such action (it has ${known})`)];
  }
  const parsed = action.args.safeParse(step.args ?? {});
  if (parsed.success) return [];
  return parsed.error.issues.map((x) => issue(["steps", i, "args", ...x.path], x.message));
}

/**
 * Checks the steps against the kernels and the actions of their plugins,
 * following which kernel runs at each step (as written: a kexec the
 * workload aborts at run time is not foreseen).
 */
function checkSteps(s: Scenario, issues: ScenarioIssue[]): void {
  let running: string | null = null;
  for (const [i, step] of s.steps.entries()) {
    const target = "boot" in step ? step.boot : "kexec" in step ? step.kexec : null;
    const key = "boot" in step ? "boot" : "kexec";
    if (target !== null) {
      if (!(target in s.kernels)) issues.push(issue(["steps", i, key], `no kernel "${target}"`));
      else if ("kexec" in step && running === null)
        issues.push(issue(["steps", i, key], "kexec before any boot: boot a kernel first"));
      else running = target;
    } else if ("action" in step && !("run" in step)) {
      if (running === null) issues.push(issue(["steps", i, "action"], "an action before any boot"));
      else issues.push(...actionIssues(s, running, step, i));
    }
  }
}

/**
 * A kernel's plugins with the options its scenario gives them: each
 * checked against the plugin's own schema and built with `configure`.
 */
function configured(
  kernel: string,
  plugins: readonly AnyPlugin[],
  options: Readonly<Record<string, unknown>>,
  issues: ScenarioIssue[],
): AnyPlugin[] {
  const out = [...plugins];
  for (const [name, value] of Object.entries(options)) {
    const at = ["kernels", kernel, "options", name];
    const i = out.findIndex((p) => p.name === name);
    const spec = out[i]?.options;
    if (i < 0) issues.push(issue(at, `kernel "${kernel}" has no plugin "${name}"`));
    else if (!spec) issues.push(issue(at, `plugin "${name}" takes no options`));
    else {
      const parsed = spec.schema.safeParse(value);
      if (parsed.success) out[i] = spec.configure(parsed.data);
      else issues.push(...parsed.error.issues.map((x) => issue([...at, ...x.path], x.message)));
    }
  }
  return out;
}

/** What building something from the data throws (a KhoError), as an issue at `path`. */
function buildIssues(path: readonly (string | number)[], build: () => unknown): ScenarioIssue[] {
  try {
    build();
    return [];
  } catch (e) {
    if (!isKhoError(e)) throw e;
    return [issue(path, e.message)];
  }
}

/** A kernel built for other pages than the machine's would be refused at its first boot: say so now. */
function pageSizeIssues(machinePageSize: number | string, kernels: Record<string, KernelComposition>): ScenarioIssue[] {
  const want = parseSize(machinePageSize, "pageSize");
  return Object.entries(kernels).flatMap(([k, spec]) => {
    if (spec.pageSize === undefined) return [];
    const got = buildIssues(["kernels", k, "pageSize"], () => parseSize(spec.pageSize!, "pageSize"));
    if (got.length) return got;
    const size = parseSize(spec.pageSize, "pageSize");
    return size === want ? [] : [issue(["kernels", k, "pageSize"], `${size}-byte pages, the machine has ${want}`)];
  });
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
  if (!parsed.success) throw new ScenarioError(label, parsed.error.issues.flatMap(located));
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
        issues.push(
          issue(["kernels", k, "plugins", i], `no plugin "${p}" (known: ${[...byName.keys()].join(", ") || "none"})`),
        );
    });
    const { options, ...rest } = spec;
    const before = issues.length;
    kernels[k] = { ...rest, plugins: configured(k, found, options ?? {}, issues) };
    // Composition errors (a plugin twice, a missing dependency, a bad pin) belong to the file too.
    if (issues.length === before) issues.push(...buildIssues(["kernels", k], () => composeKernel(kernels[k]!)));
  }
  const machine = buildIssues(["machine"], () => new Machine(d.machine));
  issues.push(...machine);
  if (!machine.length) issues.push(...pageSizeIssues(d.machine.pageSize, kernels));
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
  eq("handover", e.handover, r.to?.handover);
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

/** What an action step's outcome fails to match: it threw unexpectedly, or it was to fail and did not. */
function actionOutcome(step: { action: string; fails?: string }, error: KhoError | null): string[] {
  if (error === null)
    return step.fails === undefined ? [] : [`${step.action}: expected to fail with ${step.fails}, it succeeded`];
  if (error.code === step.fails) return [];
  const want = step.fails === undefined ? "" : ` (expected ${step.fails})`;
  return [`${step.action} failed: ${error.code}: ${error.message}${want}`];
}

/** Called while a scenario runs: to write files per transition, to show progress. */
/**
 * Runs a scenario: every kernel is composed (and validated) before the
 * first step, so a composition error costs no boot. A panicked kernel ends
 * the chain (the result says so), but `expect` steps right after it still
 * check its report and a `boot` step resets the machine and goes on. A
 * panic no `expect: { outcome: panicked }` follows is a failed
 * expectation. An action's KhoError is recorded as a failed expectation
 * (unless the step says it `fails` with that errno) and the chain goes on.
 */
export function runScenario(s: Scenario, opts: RunScenarioOptions = {}): ScenarioResult {
  const composed = new Map<string, ComposedKernel>();
  for (const [name, k] of Object.entries(s.kernels)) composed.set(name, composeKernel(k));
  const kernel = (name: string): ComposedKernel => {
    const k = composed.get(name);
    if (!k) throw new KhoError("ENOENT", `scenario "${s.name}" has no kernel "${name}"`);
    return k;
  };
  const host = new LiveUpdateHost(new Machine(s.machine), {
    memoryMaps: opts.memoryMaps ?? false,
    atJump: (machine, handover, i) => opts.jump?.(machine, handover, i),
  });
  const expectations: ExpectationResult[] = [];
  const transition = (i: number, r: TransitionReport) => opts.transition?.(r, host, i);
  let stopped = false;
  // The step at which the running kernel panicked, and whether an expect step said it would.
  let panicAt: number | null = null;
  let panicExpected = false;
  const panicked = () => host.machine.kernel?.state === "panicked";
  const unforeseenPanic = () => {
    const k = host.machine.kernel;
    if (!k || panicAt === null || panicExpected) return;
    expectations.push({
      step: panicAt,
      transition: host.reports.at(-1)?.index ?? null,
      failures: [`${k.release} panicked (${k.panicReason ?? "?"}) and no "expect: { outcome: panicked }" follows`],
    });
  };
  for (const [i, step] of s.steps.entries()) {
    const last = host.reports.at(-1);
    if (panicked() && "expect" in step) panicExpected ||= step.expect.outcome === "panicked";
    else if (panicked()) {
      unforeseenPanic();
      panicAt = null;
      panicExpected = false;
      // Only a reset (a cold boot) goes on from a panic.
      if (!("boot" in step)) {
        stopped = true;
        break;
      }
    }
    try {
      if ("boot" in step) transition(i, host.boot(kernel(step.boot)));
      else if ("kexec" in step) transition(i, host.kexec(kernel(step.kexec)));
      else if ("finish" in step) host.finish();
      else if ("expect" in step)
        expectations.push({ step: i, transition: last?.index ?? null, failures: check(step.expect, last) });
      else if ("run" in step) step.action(host);
      else {
        let error: KhoError | null = null;
        try {
          host.action(step.action, step.args);
        } catch (e) {
          if (!isKhoError(e)) throw e;
          error = e;
        }
        const failures = actionOutcome(step, error);
        if (step.fails !== undefined || failures.length)
          expectations.push({ step: i, transition: last?.index ?? null, failures });
      }
    } catch (e) {
      // A panic outside a transition (in finish or the workload) stops the chain; the kernel log has it.
      if (!(e instanceof KernelPanic)) throw e;
    }
    if (panicked() && panicAt === null) panicAt = i;
  }
  if (panicked()) unforeseenPanic();
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
