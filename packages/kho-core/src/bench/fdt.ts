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
 *   node packages/kho-core/dist/bench/fdt.js [--scale F]   (the FDT cases alone)
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { canonChunks } from "../fdt/canon.js";
import { checkFull } from "../fdt/check.js";
import { dtsChunks } from "../fdt/dts.js";
import { readInputFile } from "../files/input.js";
import { largeDtb, manyPropsDtb, wideDtb } from "./fdt-shapes.js";

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

const TIME = "/usr/bin/time";

/** Fixed memory allowance above the floor, in bytes (see the module comment). */
export const HEAP_SLACK = 32 * 2 ** 20;

interface Run {
  seconds: number;
  maxRssKiB: number;
}

/** Runs a command under /usr/bin/time, its output to /dev/null. */
function timed(cmd: string, args: readonly string[]): Run {
  const dir = mkdtempSync(join(tmpdir(), "khosim-bench-fdt-"));
  try {
    const f = join(dir, "time");
    execFileSync(TIME, ["-f", "%e %M", "-o", f, cmd, ...args], { stdio: "ignore" });
    const [s, kib] = readFileSync(f, "utf8").trim().split("\n").at(-1)!.split(" ");
    return { seconds: Number(s), maxRssKiB: Number(kib) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

const self = fileURLToPath(import.meta.url);

function ours(op: Op, path: string): Run {
  return timed(process.execPath, [self, "--one", op, path]);
}

/** Prints the FDT table; returns how many measurements miss a target. */
export function runFdtBench(scale = 1): number {
  const dir = mkdtempSync(join(tmpdir(), "khosim-bench-fdt-"));
  try {
    const tiny = join(dir, "tiny.dtb");
    writeFileSync(tiny, wideDtb(1));
    const floor = new Map(FDT_BENCH_OPS.map((op) => [op, ours(op, tiny).maxRssKiB]));
    const rows: string[][] = [["case", "op", "input MiB", "s TS", "s dtc", "TS/dtc", "MiB TS", "/input", "MiB dtc"]];
    let bad = 0;
    for (const c of FDT_BENCH_CASES) {
      const blob = c.build(scale);
      const path = join(dir, "case.dtb");
      writeFileSync(path, blob);
      const dtc = timed("dtc", ["-I", "dtb", "-O", "dts", "-q", "-o", "/dev/null", path]);
      for (const op of FDT_BENCH_OPS) {
        const ts = ours(op, path);
        const ratio = ts.seconds / Math.max(dtc.seconds, 0.01);
        const above = Math.max(0, ts.maxRssKiB - floor.get(op)!) * 1024;
        const perInput = above / blob.length;
        const ok = ratio <= 2 && above <= 4 * blob.length + HEAP_SLACK;
        if (!ok) bad++;
        rows.push([
          `${c.name}${ok ? "" : " MISSED"}`,
          op,
          (blob.length / 2 ** 20).toFixed(1),
          ts.seconds.toFixed(2),
          dtc.seconds.toFixed(2),
          ratio.toFixed(2),
          (ts.maxRssKiB / 1024).toFixed(0),
          perInput.toFixed(2),
          (dtc.maxRssKiB / 1024).toFixed(0),
        ]);
      }
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows)
      console.log(r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));
    console.log(
      "\n/input: peak RSS above the same operation on a minimal DTB, per input byte; " +
        "targets: TS/dtc <= 2, RSS above that floor <= 4 x input + 32 MiB",
    );
    return bad;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const oneAt = process.argv.indexOf("--one");
  if (oneAt >= 0) runOne(process.argv[oneAt + 1] as Op, process.argv[oneAt + 2]!);
  else {
    const scaleAt = process.argv.indexOf("--scale");
    process.exitCode = runFdtBench(scaleAt >= 0 ? Number(process.argv[scaleAt + 1]) : 1) ? 1 : 0;
  }
}
