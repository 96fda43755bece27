import { ERRNO_VALUES, KernelPanic, KhoError, type TransitionReport } from "@khosim/kho-core";

/**
 * What a decoder may do with hostile input: return, raise a `KhoError`
 * (errno, message, where), or stop the kernel with `KernelPanic` where the
 * real kernel panics. Anything else escaping is a broken contract.
 */
export type Outcome = { readonly kind: "ok" } | { readonly kind: "error"; readonly code: string };

/** A decoder let something other than a KhoError or a KernelPanic escape. */
export class ContractViolation extends Error {
  override readonly name = "ContractViolation";
  constructor(
    readonly target: string,
    readonly escaped: unknown,
  ) {
    super(`${target}: ${describe(escaped)} escaped (only KhoError or KernelPanic may)`, { cause: escaped });
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return `a thrown ${typeof e} (${String(e)})`;
}

/** Runs `fn` under the contract: its own errors become an outcome, anything foreign a ContractViolation. */
export function underContract(target: string, fn: () => void): Outcome {
  try {
    fn();
    return { kind: "ok" };
  } catch (e) {
    if (e instanceof KhoError) return { kind: "error", code: e.code };
    if (e instanceof KernelPanic) return { kind: "error", code: "panic" };
    throw new ContractViolation(target, e);
  }
}

/**
 * The host contains a plugin hook's failure in the report whatever was
 * thrown, naming its class where it was no KhoError: such an entry is a
 * decoder inside the plugin breaking the contract.
 */
export function checkHookFailures(target: string, report: TransitionReport): void {
  for (const f of report.hookFailures) {
    if (f.code in ERRNO_VALUES || f.code === "KernelPanic") continue;
    const escaped = new Error(`${f.plugin} ${f.hook}: ${f.message}`);
    escaped.name = f.code;
    escaped.stack = f.stack ?? escaped.stack;
    throw new ContractViolation(target, escaped);
  }
}
