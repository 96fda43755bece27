import { counterPlugin } from "@khosim/example-counter";
import { formatReport, runScenarioData } from "@khosim/kho-core";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { type Command, checkOptions, optFlag, parseArgs, UsageError } from "../command.js";
import { defaultScenario } from "../scenarios/default.js";

export const simCommand: Command = {
  name: "sim",
  summary: "run a live-update chain on a simulated machine and print its report",
  usage: "kho sim [--json]",
  run(args, io) {
    const p = parseArgs(args, ["json"]);
    checkOptions(p, ["json"]);
    if (p.positional.length)
      throw new UsageError("scenario files are not supported yet; run without arguments for the built-in chain");
    const result = runScenarioData(defaultScenario, [kexecMetadataPlugin, counterPlugin]);
    if (optFlag(p, "json")) io.out(`${JSON.stringify(result, null, 2)}\n`);
    else {
      const ram = result.machine.ram.map((r) => `${r.start}+${r.size} (node ${r.nid})`).join(", ");
      io.out(
        `scenario ${result.scenario}: ${defaultScenario.description}\n` +
          `machine: ${result.machine.pageSize}-byte pages, RAM ${ram}\n\n`,
      );
      io.out(result.transitions.map(formatReport).join("\n"));
      if (result.stopped) io.out("\nchain stopped: a kernel panicked\n");
    }
    return result.transitions.some((t) => t.outcome === "panicked") ? 1 : 0;
  },
};
