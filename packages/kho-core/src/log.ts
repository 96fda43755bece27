/** Kernel log levels the simulator distinguishes (pr_info / pr_warn / pr_err / panic). */
export type LogLevel = "info" | "warn" | "err" | "emerg";

export interface LogLine {
  readonly level: LogLevel;
  /** The pr_fmt prefix the kernel file uses: "KHO: ", "luo: ", or "". */
  readonly prefix: string;
  readonly text: string;
}

/**
 * A dmesg of one simulated kernel. Lines keep their prefix apart so a report
 * can filter by subsystem; `toString` prints them as dmesg would.
 */
export class KernelLog {
  readonly lines: LogLine[] = [];

  print(level: LogLevel, prefix: string, text: string): void {
    this.lines.push({ level, prefix, text });
  }

  /** A logger bound to one prefix, as a kernel file with its own pr_fmt. */
  scoped(prefix: string): ScopedLog {
    return {
      info: (t) => this.print("info", prefix, t),
      warn: (t) => this.print("warn", prefix, t),
      err: (t) => this.print("err", prefix, t),
    };
  }

  toString(): string {
    return this.lines.map((l) => `${l.prefix}${l.text}\n`).join("");
  }
}

export interface ScopedLog {
  info(text: string): void;
  warn(text: string): void;
  err(text: string): void;
}
