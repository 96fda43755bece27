import { isKhoError } from "../errors.js";
import type { FailurePolicy, HookName } from "./plugin.js";
import type { Anomaly, HookFailure, TransitionReport } from "./report.js";

/** An exception's message, whatever was thrown. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The errno of a KhoError (an FdtError's too: the errno a kernel caller
 * makes of it; its message names libfdt's error), else the class of what
 * was thrown ("TypeError").
 */
function errorCode(e: unknown): string {
  if (isKhoError(e)) return e.code;
  if (e instanceof Error) return e.name;
  return typeof e;
}

/**
 * Everything one transition (a cold boot or a kexec) records, in one
 * object made fresh for it: the runner never resets fields by hand.
 */
export class Transition {
  readonly anomalies: Anomaly[] = [];
  readonly subtrees: TransitionReport["subtrees"] = { restored: [], refused: [], orphaned: [], lost: [] };
  readonly hookFailures: HookFailure[] = [];
  /** Bytes of preserved pages found identical after the kexec, and pages that changed. */
  verifiedBytes = 0;
  mismatches = 0;

  /**
   * A hook threw: one `hookFailures` entry and one anomaly (poison when it
   * touched unowned memory; a panic has the report's panic anomaly).
   */
  hookFailed(plugin: string, hook: HookName, e: unknown, policy: FailurePolicy): void {
    const message = errorMessage(e);
    this.hookFailures.push({
      plugin,
      hook,
      code: errorCode(e),
      message,
      stack: e instanceof Error && e.stack !== undefined ? e.stack : null,
      policy,
    });
    if (policy !== "panic" && !this.notePoison(plugin, e))
      this.anomalies.push({ kind: "hook-error", message: `${plugin} ${hook}: ${message}`, plugin });
  }

  /** Records a touch of unowned memory as a poison anomaly; false when `e` is something else. */
  notePoison(plugin: string, e: unknown): boolean {
    if (!isKhoError(e, "EHWPOISON")) return false;
    this.anomalies.push({
      kind: "poison",
      message: `use of unpreserved memory: ${e.message}`,
      plugin,
      address: e.where,
    });
    return true;
  }
}
