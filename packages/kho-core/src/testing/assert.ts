import { AssertionError } from "node:assert";
import type { SubtreeOutcome, TransitionReport } from "../host/report.js";

/*
 * Assertions on transition reports that work under any test runner: they
 * throw node's AssertionError with the report's own words, so a failing
 * test says what the kernel did instead of "expected false to be true".
 */

function fail(message: string, r: TransitionReport): never {
  throw new AssertionError({ message: `transition #${r.index} (${r.kind}): ${message}` });
}

/** The target kernel is up: not aborted, not panicked. */
export function assertRunning(r: TransitionReport): void {
  if (r.outcome === "running") return;
  const why = r.outcome === "aborted" ? `aborted by ${r.abortedBy?.plugin}: ${r.abortedBy?.reason}` : r.panic;
  fail(`outcome is ${r.outcome} (${why})`, r);
}

/** No poisoned read, no corrupted preserved page, no hook error, no panic. */
export function assertNoAnomalies(r: TransitionReport): void {
  if (r.anomalies.length === 0) return;
  fail(`anomalies: ${r.anomalies.map((a) => `${a.kind}: ${a.message}`).join("; ")}`, r);
}

type Fate = keyof TransitionReport["subtrees"];

/** Where the subtree `node` ended up in this transition, or null when the incoming FDT did not hold it. */
export function subtreeFate(r: TransitionReport, node: string): { fate: Fate; outcome: SubtreeOutcome } | null {
  for (const fate of ["restored", "refused", "orphaned", "lost"] as const) {
    const outcome = r.subtrees[fate].find((s) => s.name === node);
    if (outcome) return { fate, outcome };
  }
  return null;
}

/**
 * The subtree `node` came through this kexec as `fate` ("restored" unless
 * told), and when given, with that compatible.
 */
export function assertSubtree(r: TransitionReport, node: string, fate: Fate = "restored", compatible?: string): void {
  const got = subtreeFate(r, node);
  if (got === null) fail(`no subtree "${node}" in the incoming FDT`, r);
  if (got.fate !== fate)
    fail(`subtree "${node}" is ${got.fate}, not ${fate}${got.outcome.reason ? `: ${got.outcome.reason}` : ""}`, r);
  if (compatible !== undefined && got.outcome.compatible !== compatible)
    fail(`subtree "${node}" is ${got.outcome.compatible}, not ${compatible}`, r);
}
