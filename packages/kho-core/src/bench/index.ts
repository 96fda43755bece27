/**
 * `npm run bench`: this project against independent implementations on the
 * same work, in the same run, on the same machine. Each case runs in a
 * child process of its own so its peak RSS is its own.
 *
 *   node packages/kho-core/dist/bench/index.js [--json] [--quick] [--rounds N] [--only TEXT] [--clock cpu|wall]
 *
 * --json prints one JSON object per row; --quick is the CI pass (small
 * inputs, one round); --clock wall times in wall time instead of CPU time
 * (see BenchClock). The exit status is 1 when a check fails or a case
 * cannot run, never because of a time; 2 for a bad option.
 */
import { fileURLToPath } from "node:url";
import { runBench, runChild } from "./runner.js";
import { formatTable } from "./table.js";

function option(argv: readonly string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  if (at < 0) return undefined;
  const v = argv[at + 1];
  if (v === undefined) throw new Error(`${name} needs a value`);
  return v;
}

async function main(argv: readonly string[]): Promise<number> {
  const quick = argv.includes("--quick");
  const rounds = Number(option(argv, "--rounds") ?? (quick ? 1 : 3));
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds needs a positive integer");
  const clock = option(argv, "--clock") ?? "cpu";
  if (clock !== "cpu" && clock !== "wall") throw new Error("--clock is cpu or wall");
  const child = option(argv, "--child");
  if (child !== undefined) {
    process.stdout.write(await runChild(child, { quick, rounds, clock }));
    return 0;
  }
  const json = argv.includes("--json");
  const rows = await runBench({
    quick,
    rounds,
    clock,
    isolate: true,
    script: fileURLToPath(import.meta.url),
    only: option(argv, "--only"),
    onRow: json ? (r) => console.log(JSON.stringify(r)) : undefined,
  });
  if (!json) console.log(formatTable(rows));
  const bad = rows.filter((r) => r.check !== "ok");
  if (bad.length > 0) console.error(`${bad.length} row(s) failed their check`);
  return bad.length > 0 ? 1 : 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  // A bad option or a broken case registry: say what, without a stack trace.
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 2;
}
