/**
 * FDT cases of `npm run bench`: `kho fdt check|canon|dts` on a large valid
 * DTB and on wide trees, against `dtc -I dtb -O dts` on the same file in the
 * same run. Each operation runs in a child process of its own, timed with
 * its peak RSS by /usr/bin/time like dtc. Targets: at most 2x dtc's time,
 * and at most 4x the input size of memory above what the same operation
 * costs on a minimal DTB (the runtime's own footprint), with HEAP_SLACK on
 * top: under allocation pressure V8 grows its young generation to two 16 MiB
 * semi-spaces whatever the input size, which dominates for inputs of a few
 * hundred KiB (the 64 MiB case shows the proportional cost).
 *
 *   npm run bench -- --only fdt
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { canonChunks } from "../fdt/canon.js";
import { checkFull } from "../fdt/check.js";
import { dtsChunks } from "../fdt/dts.js";
import { readInputFile } from "../fs/input.js";
import { type BenchCase, type BenchRow, benchRow } from "./case.js";
import { FDT_LIBFDT_CASES } from "./fdt-libfdt.js";
import { largeDtb, manyPropsDtb, wideDtb } from "./fdt-shapes.js";
import { type ProcessRun, timeProcess } from "./process.js";

export interface FdtBenchCase {
  readonly name: string;
  readonly build: (scale: number) => Uint8Array;
}

export const FDT_BENCH_CASES: readonly FdtBenchCase[] = [
  { name: "64 MiB of devices", build: (s) => largeDtb(Math.round(64 * 2 ** 20 * s)) },
  { name: "25 000 siblings", build: (s) => wideDtb(Math.round(25_000 * s)) },
  { name: "40 000 properties", build: (s) => manyPropsDtb(Math.round(40_000 * s)) },
];

export const FDT_BENCH_OPS = ["check", "canon", "dts"] as const;
type Op = (typeof FDT_BENCH_OPS)[number];

/** Fixed memory allowance above the floor, in bytes (see the module comment). */
export const HEAP_SLACK = 32 * 2 ** 20;

/** Runs a command under /usr/bin/time (timeProcess); a failing command fails the case. */
function timed(cmd: string, args: readonly string[]): ProcessRun {
  const r = timeProcess(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with status ${r.status}`);
  return r;
}

/** The child: one operation on one file, output written to /dev/null chunk by chunk as the CLI writes it. */
function runOne(op: Op, path: string): void {
  const blob = readInputFile(path);
  if (op === "check") {
    checkFull(blob);
    return;
  }
  const fd = openSync("/dev/null", "w");
  try {
    for (const chunk of op === "canon" ? canonChunks(blob) : dtsChunks(blob)) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

// The child runs the compiled module: under the test runner this file is the TypeScript source.
const self = fileURLToPath(import.meta.url).replace(/\/src\/bench\/fdt\.ts$/, "/dist/bench/fdt.js");

function ours(op: Op, path: string): ProcessRun {
  return timed(process.execPath, [self, "--one", op, path]);
}

/**
 * Two rows per case and operation: seconds against dtc's on the same file,
 * and peak RSS above the same operation on a minimal DTB against dtc's peak
 * RSS. Targets (TS/dtc <= 2; RSS above the floor <= 4 x input + HEAP_SLACK)
 * are for the reader of the table; only a failing operation fails a row.
 */
function fdtRows(scale: number): BenchRow[] {
  const dir = mkdtempSync(join(tmpdir(), "khosim-bench-fdt-"));
  try {
    const tiny = join(dir, "tiny.dtb");
    writeFileSync(tiny, wideDtb(1));
    const floor = new Map(FDT_BENCH_OPS.map((op) => [op, ours(op, tiny).maxRssMiB]));
    const rows: BenchRow[] = [];
    for (const c of FDT_BENCH_CASES) {
      const blob = c.build(scale);
      const path = join(dir, "case.dtb");
      writeFileSync(path, blob);
      const dtc = timed("dtc", ["-I", "dtb", "-O", "dts", "-q", "-o", "/dev/null", path]);
      const what = `${c.name} (${(blob.length / 2 ** 20).toFixed(1)} MiB)`;
      for (const op of FDT_BENCH_OPS) {
        const ts = ours(op, path);
        const aboveMiB = Math.max(0, ts.maxRssMiB - floor.get(op)!);
        const rss = ts.maxRssMiB;
        rows.push(
          benchRow({
            case: `fdt ${op} ${what}`,
            unit: "s",
            ts: ts.wallMs / 1000,
            ref: dtc.wallMs / 1000,
            rss_mib: rss,
            check: "ok",
          }),
          benchRow({
            case: `fdt ${op} ${what} RSS above floor`,
            unit: "MiB",
            ts: aboveMiB,
            ref: dtc.maxRssMiB,
            rss_mib: rss,
            check: "ok",
          }),
        );
      }
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The FDT cases: against dtc at full size, or a 2% scale for the quick CI pass; then against libfdt. */
export const FDT_CASES: readonly BenchCase[] = [
  { name: "fdt against dtc", run: (ctx) => fdtRows(ctx.quick ? 0.02 : 1) },
  ...FDT_LIBFDT_CASES,
];

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const oneAt = process.argv.indexOf("--one");
  if (oneAt >= 0) runOne(process.argv[oneAt + 1] as Op, process.argv[oneAt + 2]!);
}
