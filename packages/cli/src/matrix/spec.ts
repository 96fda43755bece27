import { readFileSync } from "node:fs";
import { basename, extname } from "node:path";
import {
  type AnyPlugin,
  composeKernel,
  DEFAULT_MACHINE,
  isKhoError,
  type KernelData,
  kernelSchema,
  loadScenario,
  type MachineSpec,
  machineSchema,
  type ScenarioData,
  ScenarioError,
  type ScenarioIssue,
  stepSchema,
} from "@khosim/kho-core";
import { LineCounter, parseDocument } from "yaml";
import { z } from "zod";

/*
 * What `kho matrix` compares: kernel compositions in the scenario's kernel
 * schema, one file each (the file's name, without extension, names the
 * kernel), or one matrix file holding them all with a machine and the
 * workload each source kernel runs before its kexec.
 */

type Step = ScenarioData["steps"][number];

export const matrixFileSchema = z.strictObject({
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  machine: machineSchema.optional(),
  kernels: z
    .record(z.string().min(1), kernelSchema)
    .refine((k) => Object.keys(k).length > 0, "a matrix needs at least one kernel"),
  steps: z
    .array(stepSchema)
    .optional()
    .meta({ description: "The workload: actions and { finish: true }, run on the source kernel after its cold boot." }),
});

/** Every kernel in file order, the machine, and the workload: plain data, so it crosses to worker threads. */
export interface MatrixSpec {
  readonly name: string;
  readonly machine: MachineSpec;
  readonly kernels: Readonly<Record<string, KernelData>>;
  readonly order: readonly string[];
  readonly steps: readonly Step[];
  /** The file each kernel was read from, so an issue names it. */
  readonly sources: Readonly<Record<string, string>>;
}

const issuesOf = (err: z.ZodError): ScenarioIssue[] =>
  err.issues.map((i) => ({
    path: i.path.map(String).join(".") || "(root)",
    at: i.path.filter((k): k is string | number => typeof k !== "symbol"),
    message: i.message,
  }));

/** A JSON or YAML file as data; a syntax error is a ScenarioError naming the line and column. */
function readData(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ScenarioError(file, [{ at: [], path: "(file)", message: (e as Error).message }]);
  }
  if (extname(file) === ".json") {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ScenarioError(file, [{ at: [], path: "(file)", message: (e as Error).message }]);
    }
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0)
    throw new ScenarioError(
      file,
      doc.errors.map((e) => {
        const at = lines.linePos(e.pos[0]);
        return { at: [], path: `line ${at.line}, column ${at.col}`, message: e.message };
      }),
    );
  return doc.toJS();
}

const isMatrixFile = (data: unknown): boolean => data !== null && typeof data === "object" && "kernels" in data;

/** Boot and kexec are the matrix's; the workload is actions and finish. */
function workloadIssues(steps: readonly Step[]): ScenarioIssue[] {
  return steps.flatMap((s, i) =>
    "boot" in s || "kexec" in s || "expect" in s
      ? [
          {
            at: ["steps", i],
            path: `steps.${i}`,
            message: "a workload step is an action or { finish: true }: the matrix boots and kexecs",
          },
        ]
      : [],
  );
}

/** The matrix from the command line's files: one matrix file, or one kernel composition per file. */
export function readMatrixFiles(files: readonly string[]): MatrixSpec {
  const data = files.map(readData);
  if (data.length === 1 && isMatrixFile(data[0])) {
    const parsed = matrixFileSchema.safeParse(data[0]);
    if (!parsed.success) throw new ScenarioError(files[0]!, issuesOf(parsed.error));
    const d = parsed.data;
    const steps = d.steps ?? [];
    const bad = workloadIssues(steps);
    if (bad.length) throw new ScenarioError(files[0]!, bad);
    return {
      name: d.name ?? basename(files[0]!),
      machine: d.machine ?? DEFAULT_MACHINE,
      kernels: d.kernels,
      order: Object.keys(d.kernels),
      steps,
      sources: Object.fromEntries(Object.keys(d.kernels).map((k) => [k, files[0]!])),
    };
  }
  const kernels: Record<string, KernelData> = {};
  const sources: Record<string, string> = {};
  files.forEach((file, i) => {
    if (isMatrixFile(data[i]))
      throw new ScenarioError(file, [
        { at: [], path: "kernels", message: "a matrix file is given alone, not with others" },
      ]);
    const parsed = kernelSchema.safeParse(data[i]);
    if (!parsed.success) throw new ScenarioError(file, issuesOf(parsed.error));
    const name = basename(file, extname(file));
    if (name in kernels)
      throw new ScenarioError(file, [{ at: [], path: "(file)", message: `a second kernel "${name}"` }]);
    kernels[name] = parsed.data;
    sources[name] = file;
  });
  return { name: "matrix", machine: DEFAULT_MACHINE, kernels, order: Object.keys(kernels), steps: [], sources };
}

/** Where an issue of `checkMatrix` is: the file its kernel came from, else the matrix. */
export function issueSource(spec: MatrixSpec, issue: ScenarioIssue): string {
  const kernel = /^kernels\.([^.]+)/.exec(issue.path)?.[1];
  const files = new Set(Object.values(spec.sources));
  return (kernel !== undefined && spec.sources[kernel]) || (files.size === 1 ? [...files][0]! : spec.name);
}

/**
 * An issue of a pair's scenario in the matrix's terms: its step N is
 * workload step N-1 (the first is the boot), and a workload issue says
 * which source kernel it concerns.
 */
function matrixIssue(i: ScenarioIssue, from: string): ScenarioIssue {
  const step = /^steps\.(\d+)/.exec(i.path);
  if (!step) return i;
  const path = `steps.${Number(step[1]) - 1}${i.path.slice(step[0].length)}`;
  return { at: [], path, message: `${i.message} (running ${from})` };
}

/** The scenario one pair runs: cold boot of `from`, the workload, kexec into `to`. */
export function pairScenario(spec: MatrixSpec, from: string, to: string): ScenarioData {
  return {
    name: `${from} -> ${to}`,
    machine: { ...spec.machine, ram: [...spec.machine.ram] },
    kernels: { ...spec.kernels },
    steps: [{ boot: from }, ...spec.steps, { kexec: to }],
  };
}

/**
 * Everything a pair could fail on before it runs, for every kernel at
 * once: each kernel's plugin names and composition (version pins), then
 * the workload's actions and their arguments against each source kernel's
 * plugins. One ScenarioError listing every issue.
 */
export function checkMatrix(spec: MatrixSpec, plugins: readonly AnyPlugin[]): void {
  const issues = new Map<string, ScenarioIssue>();
  const add = (i: ScenarioIssue) => issues.set(`${i.path}\0${i.message}`, i);
  const attempt = (fn: () => void, onIssue: (i: ScenarioIssue) => void, where: string) => {
    try {
      fn();
    } catch (e) {
      if (e instanceof ScenarioError) e.issues.forEach(onIssue);
      else if (isKhoError(e)) add({ at: [], path: where, message: e.message });
      else throw e;
    }
  };
  for (const name of spec.order) {
    const alone = {
      ...pairScenario(spec, name, name),
      kernels: { [name]: spec.kernels[name]! },
      steps: [{ boot: name }],
    };
    attempt(() => void composeKernel(loadScenario(alone, plugins).kernels[name]!), add, `kernels.${name}`);
  }
  // Kernel issues were found above; here only the workload's, once per source kernel.
  for (const from of spec.order)
    attempt(
      () => void loadScenario(pairScenario(spec, from, from), plugins),
      (i) => i.path.startsWith("steps.") && add(matrixIssue(i, from)),
      "steps",
    );
  if (issues.size) throw new ScenarioError(spec.name, [...issues.values()]);
}
