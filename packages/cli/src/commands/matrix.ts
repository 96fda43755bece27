import { availableParallelism } from "node:os";
import { ScenarioError, type ScenarioIssue } from "@khosim/kho-core";
import { type Command, JSON_OPTION, optFlag, optList, optString, UsageError } from "../command.js";
import { formatMatrix } from "../matrix/format.js";
import { runPairs } from "../matrix/pool.js";
import { checkMatrix, issueSource, type MatrixSpec, readMatrixFiles } from "../matrix/spec.js";
import { loadPlugins, PLUGIN_OPTIONS } from "../plugins.js";

const MAX_WORKERS = 64;

function workersOf(text: string | undefined): number {
  if (text === undefined) return availableParallelism();
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_WORKERS)
    throw new UsageError(`--workers takes a whole number from 1 to ${MAX_WORKERS}, not "${text}"`);
  return n;
}

export const matrixCommand: Command = {
  name: "matrix",
  summary: "kexec every ordered pair of kernel compositions on one machine and workload: the upgrade matrix",
  args: "KERNELS...",
  example: "kho matrix examples/matrix/rc1.yaml examples/matrix/old-reader.yaml --plugin examples/counter-plugin",
  options: {
    ...JSON_OPTION,
    workers: { type: "string", arg: "N", help: "worker threads running pairs (default: the CPUs available)" },
    ...PLUGIN_OPTIONS,
  },
  async run(inv) {
    if (inv.positionals.length === 0) throw new UsageError("expected KERNELS...: kernel files, or one matrix file");
    const workers = workersOf(optString(inv.values, "workers"));
    const plugins = await loadPlugins(inv.values);
    // A bad input file is bad usage: every issue, one a line, with the file it is in, and exit 2.
    const report = (issues: readonly ScenarioIssue[], where: (i: ScenarioIssue) => string) => {
      inv.io.err(issues.map((i) => `kho matrix: ${where(i)}: ${i.path}: ${i.message}\n`).join(""));
      return 2;
    };
    let spec: MatrixSpec;
    try {
      spec = readMatrixFiles(inv.positionals);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      return report(e.issues, () => e.scenario);
    }
    try {
      checkMatrix(spec, plugins);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      return report(e.issues, (i) => issueSource(spec, i));
    }
    const setup = {
      spec,
      plugin: optList(inv.values, "plugin"),
      config: optString(inv.values, "config"),
      cwd: process.cwd(),
    };
    const cells = await runPairs(setup, workers);
    if (optFlag(inv.values, "json"))
      inv.io.out(
        `${JSON.stringify({ name: spec.name, machine: spec.machine, kernels: spec.order, cells }, null, 2)}\n`,
      );
    else inv.io.out(formatMatrix(spec, cells));
    return 0;
  },
};
