import { writeFileSync } from "node:fs";
import { formatReport, runScenarioData } from "@khosim/kho-core";
import { type Command, expectArgs, JSON_OPTION, optFlag, optString } from "../command.js";
import { loadPlugins, PLUGIN_OPTIONS } from "../plugins.js";
import { renderHtmlReport } from "../render/html.js";
import { renderMemorySvg } from "../render/svg.js";
import { defaultScenario } from "../scenarios/default.js";

export const simCommand: Command = {
  name: "sim",
  summary: "run a live-update chain on a simulated machine and print its report",
  args: "",
  example: "kho sim --plugin examples/counter-plugin --json",
  options: {
    ...JSON_OPTION,
    svg: { type: "string", arg: "FILE", help: "draw the last transition's memory map as SVG into FILE" },
    html: { type: "string", arg: "FILE", help: "write the report as one self-contained HTML page into FILE" },
    ...PLUGIN_OPTIONS,
  },
  async run(inv) {
    expectArgs(inv, []);
    const plugins = await loadPlugins(inv.values);
    const scenario = defaultScenario(plugins.map((p) => p.name));
    const [svg, html] = [optString(inv.values, "svg"), optString(inv.values, "html")];
    const { memoryMaps: maps = [], ...result } = runScenarioData(scenario, plugins, {
      memoryMaps: svg !== undefined || html !== undefined,
    });
    if (svg !== undefined && maps.length) writeFileSync(svg, renderMemorySvg(maps.at(-1)!, `${result.scenario}`));
    if (html !== undefined) writeFileSync(html, renderHtmlReport(result, maps));
    if (optFlag(inv.values, "json")) inv.io.out(`${JSON.stringify(result, null, 2)}\n`);
    else {
      const ram = result.machine.ram.map((r) => `${r.start}+${r.size} (node ${r.nid})`).join(", ");
      inv.io.out(`scenario ${result.scenario}: ${scenario.description}\n`);
      inv.io.out(`machine: ${result.machine.pageSize}-byte pages, RAM ${ram}\n\n`);
      inv.io.out(result.transitions.map(formatReport).join("\n"));
      if (result.stopped) inv.io.out("\nchain stopped: a kernel panicked\n");
    }
    return result.transitions.some((t) => t.outcome === "panicked") ? 1 : 0;
  },
};
