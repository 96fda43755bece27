import { writeFileSync } from "node:fs";
import {
  type ExpectationResult,
  formatReport,
  runScenario,
  type ScenarioObserver,
  type ScenarioResult,
} from "@khosim/kho-core";
import { type Command, type Io, JSON_OPTION, optFlag, optString, UsageError } from "../command.js";
import { BUILTIN_PLUGINS, loadPlugins, PLUGIN_OPTIONS } from "../plugins.js";
import { Progress } from "../progress.js";
import { renderHtmlReport } from "../render/html.js";
import { renderMemorySvg } from "../render/svg.js";
import { DEFAULT_SCENARIO, formatFileIssue, loadScenarioFile, ScenarioFileError } from "../scenario-file.js";
import { TransitionFiles } from "../transition-files.js";

/** Every observer in turn. */
function observers(list: readonly ScenarioObserver[]): ScenarioObserver {
  return {
    jump: (m, h, i) => {
      for (const o of list) o.jump?.(m, h, i);
    },
    transition: (r, host, step) => {
      for (const o of list) o.transition?.(r, host, step);
    },
  };
}

function expectationLine(e: ExpectationResult): string[] {
  const after = e.transition === null ? "before any transition" : `after #${e.transition}`;
  if (!e.failures.length) return [`  step ${e.step} (${after}): holds`];
  return [`  step ${e.step} (${after}): FAILED`, ...e.failures.map((f) => `    ${f}`)];
}

/** Expectations that did not hold. */
function failedExpectations(result: ScenarioResult): ExpectationResult[] {
  return result.expectations.filter((e) => e.failures.length > 0);
}

function printHuman(io: Io, result: ScenarioResult, description: string | undefined): void {
  const ram = result.machine.ram.map((r) => `${r.start}+${r.size} (node ${r.nid})`).join(", ");
  io.out(`scenario ${result.scenario}${description ? `: ${description}` : ""}\n`);
  io.out(`machine: ${result.machine.pageSize}-byte pages, RAM ${ram}\n\n`);
  io.out(result.transitions.map(formatReport).join("\n"));
  if (result.stopped) io.out("\nchain stopped: a kernel panicked\n");
  const failed = failedExpectations(result);
  io.out(`\nexpectations: ${result.expectations.length - failed.length} of ${result.expectations.length} hold\n`);
  io.out(`${result.expectations.flatMap(expectationLine).join("\n")}\n`);
}

export const simCommand: Command = {
  name: "sim",
  summary: "run a scenario file (YAML or JSON; default: the built-in chain) and print its report",
  args: "[SCENARIO]",
  example: "kho sim examples/scenarios/luo-version-skew.yaml --out /tmp/khosim",
  options: {
    ...JSON_OPTION,
    out: {
      type: "string",
      arg: "DIR",
      help: "per transition, write root.dtb, image.elf and debugfs/ under DIR",
    },
    svg: { type: "string", arg: "FILE", help: "draw the last transition's memory map as SVG into FILE" },
    html: { type: "string", arg: "FILE", help: "write the report as one self-contained HTML page into FILE" },
    ...PLUGIN_OPTIONS,
    plugin: { ...PLUGIN_OPTIONS.plugin!, help: "load the plugins a module exports (no SCENARIO: into each kernel)" },
  },
  async run(inv) {
    if (inv.positionals.length > 1) throw new UsageError(`unexpected argument "${inv.positionals[1]}"`);
    const file = inv.positionals[0] ?? DEFAULT_SCENARIO;
    const json = optFlag(inv.values, "json");
    const plugins = await loadPlugins(inv.values);
    // The default chain shows what a plugin of your own does: it is built into each of its kernels.
    const added = inv.positionals[0] === undefined ? plugins.filter((p) => !BUILTIN_PLUGINS.includes(p)) : [];
    let scenario: ReturnType<typeof loadScenarioFile>;
    try {
      scenario = loadScenarioFile(
        file,
        plugins,
        added.map((p) => p.name),
      );
    } catch (e) {
      if (!(e instanceof ScenarioFileError)) throw e;
      inv.io.err(`kho sim: ${file}: ${e.issues.length} problem(s)\n${e.issues.map(formatFileIssue).join("\n")}\n`);
      return 2;
    }
    const list: ScenarioObserver[] = [];
    const out = optString(inv.values, "out");
    if (out !== undefined) list.push(new TransitionFiles(out));
    const progress = inv.io.errIsTTY && !json ? new Progress(inv.io, scenario.steps.length) : null;
    if (progress) list.push(progress);
    const [svg, html] = [optString(inv.values, "svg"), optString(inv.values, "html")];
    const { memoryMaps: maps = [], ...result } = runScenario(scenario, {
      ...observers(list),
      memoryMaps: svg !== undefined || html !== undefined,
    });
    progress?.done();
    if (svg !== undefined && maps.length) writeFileSync(svg, renderMemorySvg(maps.at(-1)!, result.scenario));
    if (html !== undefined) writeFileSync(html, renderHtmlReport(result, maps));
    if (json) inv.io.out(`${JSON.stringify(result, null, 2)}\n`);
    else printHuman(inv.io, result, scenario.description);
    return failedExpectations(result).length ? 1 : 0;
  },
};
