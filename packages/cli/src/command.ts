/**
 * The `kho` command tree. Each top-level command lives in a file of its own
 * under `commands/` and exports a `Command`; `main` dispatches on the first
 * word and turns thrown KhoErrors into an error line and exit code.
 */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** Returns the process exit code. */
  run(args: readonly string[], io: Io): Promise<number> | number;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Options parsed from `--name value`, `--name=value` and bare `--flag`. */
export interface ParsedArgs {
  readonly positional: string[];
  readonly options: Map<string, string | true>;
}

/**
 * Splits argv into positionals and options. `flags` names the options that
 * take no value; every other `--x` consumes the next word.
 */
export function parseArgs(args: readonly string[], flags: readonly string[] = []): ParsedArgs {
  const positional: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("--") || a === "--") {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    if (eq >= 0) options.set(name, a.slice(eq + 1));
    else if (flags.includes(name)) options.set(name, true);
    else {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`option --${name} needs a value`);
      options.set(name, v);
    }
  }
  return { positional, options };
}

export function optString(p: ParsedArgs, name: string): string | undefined {
  const v = p.options.get(name);
  if (v === true) throw new UsageError(`option --${name} needs a value`);
  return v;
}

export function optFlag(p: ParsedArgs, name: string): boolean {
  return p.options.get(name) === true;
}

/** Rejects options this command does not know, so typos do not pass silently. */
export function checkOptions(p: ParsedArgs, known: readonly string[]): void {
  for (const k of p.options.keys()) if (!known.includes(k)) throw new UsageError(`unknown option --${k}`);
}
