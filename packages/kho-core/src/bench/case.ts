/**
 * What a benchmark case is and what it reports. A case module exports a
 * list of cases (`benchCases`); the runner (bench/index.ts) finds them in
 * bench/cases.ts and in workspace packages that name a module in their
 * package.json (`"khosim": { "benchCases": "./dist/bench.js" }`).
 */

/** One line of `npm run bench -- --json`. */
export interface BenchRow {
  /** What was measured, unique in a run (e.g. `radix add random 4K order 0 n=1M`). */
  readonly case: string;
  /** Unit of `ts` and `ref` (e.g. `ns/op`, `ms`, `MiB`). */
  readonly unit: string;
  /** This project's result; null when the case could not run (see check). */
  readonly ts: number | null;
  /** The independent implementation's result on the same work in the same run, or null when there is none. */
  readonly ref: number | null;
  /** ts / ref, or null without a reference. */
  readonly ratio: number | null;
  /** Peak RSS of the process that ran this project's side (MiB), null when unknown. */
  readonly rss_mib: number | null;
  /** "ok", or what disagreed with the reference or failed. */
  readonly check: string;
}

/**
 * What times are measured in. `cpu` (the default) is CPU time of the
 * process, on both sides: on a shared machine a longer interval is more
 * likely to include time spent descheduled, which would bias wall-time
 * ratios against the slower side. It counts this project's GC and compiler
 * threads too. `wall` is for a quiet machine.
 */
export type BenchClock = "cpu" | "wall";

export interface BenchContext {
  /** The short CI pass: small inputs, one round; only checks can fail it. */
  readonly quick: boolean;
  /** Rounds per case; times are the best of them (the machine may be busy). */
  readonly rounds: number;
  readonly clock: BenchClock;
}

export interface BenchCase {
  /** Unique name; a child process is started with it to run the case alone. */
  readonly name: string;
  /**
   * Runs the case, this project's side in this process and the reference's
   * (if any) as a program of its own, and returns its rows. `rss_mib` may be
   * left null: the runner fills in this process's peak RSS.
   */
  run(ctx: BenchContext): BenchRow[] | Promise<BenchRow[]>;
}

/** A row with its ratio derived from ts and ref. */
export function benchRow(c: Omit<BenchRow, "ratio" | "rss_mib"> & { readonly rss_mib?: number | null }): BenchRow {
  return {
    case: c.case,
    unit: c.unit,
    ts: c.ts,
    ref: c.ref,
    ratio: c.ts === null || c.ref === null || c.ref === 0 ? null : c.ts / c.ref,
    rss_mib: c.rss_mib ?? null,
    check: c.check,
  };
}

/**
 * A full collection when the process runs with --expose-gc (the runner
 * starts its children so), else nothing: a timed phase that starts after
 * it pays for its own garbage, not for what came before it.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** A clock reading in nanoseconds from an arbitrary origin, for differences. */
export type BenchTimer = () => number;

/** The process's CPU time (user + system, all threads) or the monotonic wall clock, in nanoseconds. */
export function benchTimer(clock: BenchClock): BenchTimer {
  if (clock === "wall") return () => performance.now() * 1e6;
  return () => {
    const u = process.cpuUsage();
    return (u.user + u.system) * 1000;
  };
}

export { type ProcessRun, timeProcess } from "./process.js";
