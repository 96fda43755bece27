import type { HandoverOutcome } from "../kexec/kernel.js";
import type { LogLine } from "../log.js";
import type { FailurePolicy, HookName } from "./plugin.js";

/** A subtree found in an incoming root FDT and what became of it. */
export interface SubtreeOutcome {
  readonly name: string;
  /** The plugin that owns the node name; absent for orphans. */
  readonly plugin?: string;
  /** What the blob says it is (null: could not be identified). */
  readonly compatible?: string | null;
  /** What this kernel accepts for the node (refused subtrees). */
  readonly accepted?: readonly string[];
  readonly phys?: string;
  readonly size?: number;
  readonly reason?: string;
}

export type AnomalyKind = "poison" | "panic" | "corruption" | "hook-error";

/** A plugin hook that threw, and what that meant (HOOK_POLICY). */
export interface HookFailure {
  readonly plugin: string;
  readonly hook: HookName;
  /** The errno of a KhoError (an FdtError's message names libfdt's error), else what was thrown ("TypeError"). */
  readonly code: string;
  readonly message: string;
  /** The JavaScript stack where the hook threw; null when something other than an Error was thrown. */
  readonly stack: string | null;
  readonly policy: FailurePolicy;
}

export interface Anomaly {
  readonly kind: AnomalyKind;
  readonly message: string;
  readonly plugin?: string;
  readonly address?: string;
}

/** A scratch area as the report shows it (hex strings). */
export interface ScratchArea {
  readonly addr: string;
  readonly size: string;
}

export interface KernelRef {
  readonly release: string;
  readonly generation: number;
}

/**
 * What one transition did: a cold boot or a kexec, from which kernel to
 * which, what was handed over and what the next kernel made of it. Field
 * names are stable (docs/report.md); everything is JSON-serialisable.
 */
export interface TransitionReport {
  readonly index: number;
  readonly kind: "cold-boot" | "kexec";
  readonly from: KernelRef | null;
  readonly to:
    | (KernelRef & {
        readonly bootKind: "cold" | "kho";
        /** What became of the handover: honoured even with `kho=off`, rejected by kho_populate() or the walk. */
        readonly handover: HandoverOutcome;
        readonly khoEnabled: boolean;
        readonly scratch: readonly ScratchArea[];
      })
    | null;
  /**
   * running: the target kernel is up; aborted: a prepare failed, `from`
   * still runs; panicked: the target kernel panicked.
   */
  readonly outcome: "running" | "aborted" | "panicked";
  readonly abortedBy?: { readonly plugin: string; readonly reason: string };
  readonly panic?: string;
  readonly subtrees: {
    readonly restored: SubtreeOutcome[];
    readonly refused: SubtreeOutcome[];
    readonly orphaned: SubtreeOutcome[];
    readonly lost: SubtreeOutcome[];
  };
  /** What the outgoing kernel preserved (empty for a cold boot). */
  readonly preserved: {
    readonly blocks: number;
    readonly pages: number;
    readonly byOrder: Record<string, number>;
    readonly byOwner: Record<string, number>;
  };
  /** Hooks that threw, in the order they ran; each also has an anomaly. */
  readonly hookFailures: HookFailure[];
  /** Bytes of preserved pages found bit-identical after the kexec, and bytes plugins checked themselves. */
  readonly verified: { readonly bytes: number; readonly pluginBytes: number; readonly mismatches: number };
  readonly anomalies: Anomaly[];
  /** The target kernel's log (the source kernel's on abort): only lines the real kernel prints. */
  readonly log: string[];
  /** The simulator's own observations about that kernel: never part of the kernel's log. */
  readonly notes: string[];
  /** Where the v7.2-rc1 kernel would fault or run on garbage and the simulator refused instead. */
  readonly hazards: string[];
}

export function logLines(lines: readonly LogLine[]): string[] {
  return lines.map((l) => `${l.prefix}${l.text}`);
}

function list<T>(title: string, items: readonly T[], fmt: (item: T) => string): string[] {
  return items.length ? [`  ${title}:`, ...items.map((s) => `    ${fmt(s)}`)] : [];
}

/** Why a subtree was not restored, in the words of the report's human form. */
export function subtreeReason(fate: "refused" | "orphaned" | "lost", s: SubtreeOutcome): string {
  if (fate === "refused")
    return `blob is ${s.compatible ?? "unidentifiable"}, kernel accepts ${(s.accepted ?? []).join(", ")}`;
  if (fate === "orphaned") return `no plugin for this node (${s.size ?? "?"} bytes at ${s.phys ?? "?"})`;
  return `${s.reason}`;
}

/** The human form of a report, as `kho sim` prints it. */
export function formatReport(r: TransitionReport): string {
  const head =
    r.kind === "cold-boot"
      ? `#${r.index} cold boot -> ${r.to?.release}`
      : `#${r.index} kexec ${r.from?.release} -> ${r.outcome === "aborted" ? "(aborted)" : r.to?.release} ` +
        `[${r.to?.bootKind ?? "-"} boot]`;
  const scratch = r.to?.scratch.map((a) => `${a.addr}+${a.size}`).join(", ");
  const lines = [
    head,
    `  outcome: ${r.outcome}${r.panic ? ` (this kernel would panic: ${r.panic})` : ""}` +
      `${r.abortedBy ? ` (prepare of ${r.abortedBy.plugin} failed: ${r.abortedBy.reason})` : ""}`,
  ];
  if (r.to)
    lines.push(`  KHO: ${r.to.khoEnabled ? `on, scratch ${scratch || "none"}` : "off"}; handover ${r.to.handover}`);
  if (r.kind === "kexec") {
    const orders = Object.entries(r.preserved.byOrder)
      .map(([o, n]) => `order ${o}: ${n}`)
      .join(", ");
    const owners = Object.entries(r.preserved.byOwner)
      .map(([o, n]) => `${o}: ${n}`)
      .join(", ");
    lines.push(
      `  preserved: ${r.preserved.blocks} blocks, ${r.preserved.pages} pages (${orders || "none"}); ` +
        `pages by owner: ${owners || "none"}`,
    );
    lines.push(
      `  verified: ${r.verified.bytes} bytes identical, ${r.verified.pluginBytes} checked by plugins, ` +
        `${r.verified.mismatches} mismatches`,
    );
  }
  lines.push(
    ...list(
      "restored",
      r.subtrees.restored,
      (s) => `${s.name} (${s.compatible}) by ${s.plugin}, ${s.size} bytes at ${s.phys}`,
    ),
    ...list("refused", r.subtrees.refused, (s) => `${s.name} by ${s.plugin}: ${subtreeReason("refused", s)}`),
    ...list("orphaned", r.subtrees.orphaned, (s) => `${s.name}: ${subtreeReason("orphaned", s)}`),
    ...list(
      "lost",
      r.subtrees.lost,
      (s) => `${s.name}${s.plugin ? ` by ${s.plugin}` : ""}: ${subtreeReason("lost", s)}`,
    ),
    ...list("hook failures", r.hookFailures, (f) => `${f.plugin} ${f.hook}: ${f.code}: ${f.message} (${f.policy})`),
    ...(r.anomalies.length ? ["  anomalies:", ...r.anomalies.map((a) => `    [${a.kind}] ${a.message}`)] : []),
    ...(r.hazards.length ? ["  hazards:", ...r.hazards.map((h) => `    ${h}`)] : []),
    ...(r.notes.length ? ["  notes:", ...r.notes.map((n) => `    ${n}`)] : []),
    "  log:",
    ...r.log.map((l) => `    ${l}`),
  );
  return `${lines.join("\n")}\n`;
}
