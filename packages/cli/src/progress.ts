import type { ScenarioObserver, TransitionReport } from "@khosim/kho-core";
import type { Io } from "./command.js";

const CLEAR_LINE = "\r\x1b[K";

function describe(r: TransitionReport): string {
  const to = r.outcome === "aborted" ? "(aborted)" : (r.to?.release ?? "?");
  return r.kind === "cold-boot" ? `cold boot ${to}` : `kexec ${r.from?.release ?? "?"} -> ${to}`;
}

/**
 * One status line on a terminal's stderr, rewritten after each transition
 * (`step 12/40: #2 kexec A -> B: running`), cleared at the end. Only for
 * a TTY: a pipe or a file gets nothing, so logs and `--json` stay clean.
 */
export class Progress implements ScenarioObserver {
  private shown = false;

  constructor(
    private readonly io: Io,
    private readonly steps: number,
  ) {}

  transition(r: TransitionReport, _host: unknown, step: number): void {
    this.io.err(`${CLEAR_LINE}kho sim: step ${step + 1}/${this.steps}: #${r.index} ${describe(r)}: ${r.outcome}`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.io.err(CLEAR_LINE);
  }
}
