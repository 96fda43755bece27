import { execFileSync } from "node:child_process";
import { type BenchCase, type BenchContext, type BenchRow, benchRow } from "./case.js";
import { allBenchCases } from "./cases.js";
import { referenceBinary } from "./reference.js";

export interface BenchOptions extends BenchContext {
  /** Run each case in a child process of its own (so its peak RSS is its own); false runs them here. */
  readonly isolate: boolean;
  /** The runner's own script, started with `--child <case>` when isolating. */
  readonly script?: string;
  /** Only cases whose name contains this. */
  readonly only?: string;
  /** The cases to run; every registered case (allBenchCases) when absent. */
  readonly cases?: readonly BenchCase[];
  /** Called with each row as soon as its case finishes. */
  readonly onRow?: (r: BenchRow) => void;
}

/** A row that stands for a case that could not run; it always fails the run. */
function failed(name: string, e: unknown): BenchRow {
  const why = e instanceof Error ? e.message.split("\n")[0]! : String(e);
  return benchRow({ case: name, unit: "", ts: null, ref: null, check: `error: ${why}` });
}

const peakRssMiB = () => process.resourceUsage().maxRSS / 1024;

/** Runs one case here; rows it left without an RSS get this process's peak. */
export async function runCase(c: BenchCase, ctx: BenchContext): Promise<BenchRow[]> {
  const rows = await c.run(ctx);
  const rss = peakRssMiB();
  return rows.map((r) => (r.rss_mib === null ? { ...r, rss_mib: rss } : r));
}

function runIsolated(c: BenchCase, o: BenchOptions): BenchRow[] {
  if (o.script === undefined) throw new Error("isolated cases need the runner's script");
  const args = ["--expose-gc", o.script, "--child", c.name, "--rounds", String(o.rounds), "--clock", o.clock];
  if (o.quick) args.push("--quick");
  const out = execFileSync(process.execPath, args, {
    encoding: "utf8",
    maxBuffer: 1 << 26,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return JSON.parse(out) as BenchRow[];
}

/**
 * Runs every case (or those matching `only`) and returns their rows. A case
 * that throws gives one failed row and the others still run.
 */
export async function runBench(o: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const emit = (r: BenchRow) => {
    rows.push(r);
    o.onRow?.(r);
  };
  try {
    referenceBinary();
  } catch (e) {
    emit(failed("build the C reference", e));
    return rows;
  }
  for (const c of o.cases ?? (await allBenchCases())) {
    if (o.only !== undefined && !c.name.includes(o.only)) continue;
    try {
      const got = o.isolate ? runIsolated(c, o) : await runCase(c, o);
      for (const r of got) emit(r);
    } catch (e) {
      const stderr = (e as { stderr?: unknown }).stderr;
      emit(failed(c.name, typeof stderr === "string" && stderr.trim() !== "" ? stderr.trim() : e));
    }
  }
  return rows;
}

/** The child side of an isolated run: the named case's rows as JSON on stdout. */
export async function runChild(name: string, ctx: BenchContext): Promise<string> {
  const c = (await allBenchCases()).find((x) => x.name === name);
  if (c === undefined) throw new Error(`no benchmark case is named ${name}`);
  return JSON.stringify(await runCase(c, ctx));
}
