import { type AnyPlugin, loadScenario, runScenario, subtreeReason, type TransitionReport } from "@khosim/kho-core";
import { type MatrixSpec, pairScenario } from "./spec.js";

/** What became of one subtree in one pair's kexec. */
export interface MatrixSubtree {
  readonly name: string;
  readonly fate: "restored" | "refused" | "orphaned" | "lost";
  readonly plugin: string | null;
  readonly compatible: string | null;
  readonly reason: string | null;
}

/**
 * One cell: the verdict for `from -> to` is the worst thing that happened,
 * in this order: the target panicked, the kexec was aborted, a subtree was
 * lost, refused, orphaned; else everything was restored.
 */
export type Verdict = "panic" | "aborted" | "lost" | "refused" | "orphaned" | "restored";

export interface MatrixCell {
  readonly from: string;
  readonly to: string;
  readonly verdict: Verdict;
  /** Why, in one line (the panic, the failed prepare, each subtree not restored); null when all were. */
  readonly reason: string | null;
  readonly subtrees: readonly MatrixSubtree[];
  /** The kexec's report; null when the source kernel panicked before it. */
  readonly report: TransitionReport | null;
}

const FATES = ["lost", "refused", "orphaned", "restored"] as const;

function subtreesOf(r: TransitionReport): MatrixSubtree[] {
  return FATES.flatMap((fate) =>
    r.subtrees[fate].map((s) => ({
      name: s.name,
      fate,
      plugin: s.plugin ?? null,
      compatible: s.compatible ?? null,
      reason: fate === "restored" ? null : subtreeReason(fate, s),
    })),
  ).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function verdictOf(r: TransitionReport, subtrees: readonly MatrixSubtree[]): Pick<MatrixCell, "verdict" | "reason"> {
  if (r.outcome === "panicked") return { verdict: "panic", reason: r.panic ?? null };
  if (r.outcome === "aborted")
    return { verdict: "aborted", reason: `prepare of ${r.abortedBy?.plugin} failed: ${r.abortedBy?.reason}` };
  for (const fate of FATES.slice(0, 3)) {
    const hit = subtrees.filter((s) => s.fate === fate);
    if (hit.length) return { verdict: fate, reason: hit.map((s) => `${s.name}: ${s.reason}`).join("; ") };
  }
  return { verdict: "restored", reason: null };
}

/**
 * Runs one ordered pair on a fresh machine: the cold boot of `from`, the
 * workload, the kexec into `to`; the cell is read off the kexec's report.
 */
export function runCell(spec: MatrixSpec, from: string, to: string, plugins: readonly AnyPlugin[]): MatrixCell {
  const result = runScenario(loadScenario(pairScenario(spec, from, to), plugins));
  const kexec = result.transitions.find((t) => t.kind === "kexec");
  if (!kexec) {
    const panic = result.transitions.at(-1)?.panic;
    const reason = `${from} panicked before the kexec${panic ? `: ${panic}` : ""}`;
    return { from, to, verdict: "panic", reason, subtrees: [], report: null };
  }
  const subtrees = subtreesOf(kexec);
  return { from, to, ...verdictOf(kexec, subtrees), subtrees, report: kexec };
}
