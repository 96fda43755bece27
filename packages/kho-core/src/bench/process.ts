/**
 * Timing a whole process, for cases whose unit of work is a command (a CLI
 * run, an oracle tool): wall time, CPU time and peak RSS of the child as
 * GNU time reports them, since Node cannot read a child's resource usage.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const TIME = "/usr/bin/time";

export interface ProcessRun {
  /** Wall time from spawn to exit, in milliseconds. */
  readonly wallMs: number;
  /** User + system CPU time of the child (all its threads), in milliseconds. */
  readonly cpuMs: number;
  /** The child's peak resident set, in MiB. */
  readonly maxRssMiB: number;
  /** Exit status (null when a signal ended it). */
  readonly status: number | null;
  /** What the child wrote on stdout (empty unless `captureStdout`). */
  readonly stdout: string;
}

/**
 * Runs `cmd args` under /usr/bin/time. Its stdout is captured when asked
 * (up to 256 MiB), else discarded; stderr is discarded. Throws when
 * /usr/bin/time is missing or the child cannot start.
 */
export function timeProcess(
  cmd: string,
  args: readonly string[],
  o: { readonly cwd?: string; readonly captureStdout?: boolean } = {},
): ProcessRun {
  const dir = mkdtempSync(join(tmpdir(), "khosim-bench-time-"));
  try {
    const f = join(dir, "time");
    const t0 = performance.now();
    const r = spawnSync(TIME, ["-f", "%U %S %M", "-o", f, cmd, ...args], {
      cwd: o.cwd,
      encoding: "utf8",
      maxBuffer: 1 << 28,
      stdio: ["ignore", o.captureStdout ? "pipe" : "ignore", "ignore"],
    });
    const wallMs = performance.now() - t0;
    if (r.error) throw r.error;
    // GNU time puts "Command exited with non-zero status N" before its line when the child fails.
    const [user, sys, kib] = readFileSync(f, "utf8").trim().split("\n").at(-1)!.split(" ").map(Number);
    if (user === undefined || sys === undefined || kib === undefined || [user, sys, kib].some(Number.isNaN))
      throw new Error(`${TIME} did not report on ${cmd}`);
    return {
      wallMs,
      cpuMs: (user + sys) * 1000,
      maxRssMiB: kib / 1024,
      status: r.status,
      stdout: r.stdout ?? "",
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
