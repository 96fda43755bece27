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
 * can filter by subsystem; `toString` prints them as dmesg would. Only
 * lines the real kernel prints go here, so the log can be diffed against a
 * real dmesg; the simulator's own observations go to `notes`, and places
 * where the real kernel would fault while the simulator refuses go to
 * `hazards`.
 */
export class KernelLog {
  readonly lines: LogLine[] = [];
  readonly notes: string[] = [];
  readonly hazards: string[] = [];

  print(level: LogLevel, prefix: string, text: string): void {
    this.lines.push({ level, prefix, text });
  }

  /**
   * A WARN()/WARN_ON() splat: its first line as dmesg shows it, without the
   * CPU, PID, line number and backtrace the simulator cannot know, and a
   * note with the condition in the kernel's own words and what tripped it.
   */
  warnOn(file: string, fn: string, condition: string, why: string): void {
    this.print("warn", "", `WARNING: at ${file} ${fn}`);
    this.notes.push(`${condition} in ${fn}: ${why}`);
  }

  /** A logger bound to one prefix, as a kernel file with its own pr_fmt. */
  scoped(prefix: string): ScopedLog {
    return {
      info: (t) => this.print("info", prefix, t),
      warn: (t) => this.print("warn", prefix, t),
      err: (t) => this.print("err", prefix, t),
      note: (t) => this.notes.push(t),
      hazard: (t) => this.hazards.push(t),
      warnOn: (file, fn, condition, why) => this.warnOn(file, fn, condition, why),
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
  /** A simulator note: not a kernel line. */
  note(text: string): void;
  /** The real kernel would fault or run on garbage here; the simulator refused instead. */
  hazard(text: string): void;
  warnOn(file: string, fn: string, condition: string, why: string): void;
}
