/**
 * `npm run bench` case of the `kho` command: `kho sim` of the embedded
 * default scenario as a whole process (start, module loading, three live
 * updates, the report as JSON), the way a user runs it. Target: under one
 * second of wall time. There is no independent implementation (`ref` is
 * null); beside it, the same measure of `node` running an empty script
 * shows how much of it is the runtime's own start. The check is the run
 * itself: exit status 0, a JSON report with every transition running and
 * every expectation held.
 */

import { fileURLToPath } from "node:url";
import { type BenchCase, type BenchRow, benchRow, type ProcessRun, timeProcess } from "@khosim/kho-core/bench";

const KHO = fileURLToPath(new URL("../../bin/kho.js", import.meta.url));

interface SimJson {
  readonly transitions: readonly { readonly outcome: string }[];
  readonly stopped: boolean;
  readonly expectations: readonly { readonly failures: readonly unknown[] }[];
}

/** "ok", or what was wrong with a `kho sim --json` run. */
export function simCheck(r: ProcessRun): string {
  if (r.status !== 0) return `kho sim exited with status ${r.status}`;
  let j: SimJson;
  try {
    j = JSON.parse(r.stdout) as SimJson;
  } catch {
    return "kho sim --json did not print JSON";
  }
  const down = j.transitions.filter((t) => t.outcome !== "running").length;
  const failed = j.expectations.filter((e) => e.failures.length > 0).length;
  if (j.transitions.length === 0 || down > 0 || j.stopped || failed > 0)
    return `${j.transitions.length} transitions, ${down} not running, ${failed} expectations failed`;
  return "ok";
}

/** The run with the least of the chosen clock over `rounds` runs. */
function best(rounds: number, run: () => ProcessRun, clock: "cpu" | "wall"): ProcessRun {
  let b = run();
  for (let i = 1; i < rounds; i++) {
    const r = run();
    if ((clock === "cpu" ? r.cpuMs : r.wallMs) < (clock === "cpu" ? b.cpuMs : b.wallMs)) b = r;
  }
  return b;
}

/** Wall and CPU rows of one measured command. */
function rows(what: string, r: ProcessRun, check: string): BenchRow[] {
  return [
    benchRow({ case: `${what}: wall`, unit: "ms", ts: r.wallMs, ref: null, rss_mib: r.maxRssMiB, check }),
    benchRow({ case: `${what}: cpu`, unit: "ms", ts: r.cpuMs, ref: null, rss_mib: r.maxRssMiB, check }),
  ];
}

export const benchCases: readonly BenchCase[] = [
  {
    name: "kho sim default scenario",
    run(ctx) {
      const sim = best(
        ctx.rounds,
        () => timeProcess(process.execPath, [KHO, "sim", "--json"], { captureStdout: true }),
        ctx.clock,
      );
      const node = best(ctx.rounds, () => timeProcess(process.execPath, ["-e", ""]), ctx.clock);
      return [
        ...rows("kho sim default scenario (whole process)", sim, simCheck(sim)),
        ...rows("node with an empty script", node, node.status === 0 ? "ok" : `node exited with ${node.status}`),
      ];
    },
  },
];
