import { parseArgs } from "node:util";

/**
 * The `kho` command tree. A command is either a group (`abi`, `radix`),
 * whose first word picks a subcommand, or a leaf with its options; every
 * level answers `--help` with its usage and an example. Leaves parse their
 * arguments with node's `util.parseArgs` (strict: an unknown option is a
 * usage error), so every command takes `--name value`, `--name=value` and
 * bare flags the same way.
 */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal: progress may be shown there. */
  readonly errIsTTY?: boolean;
}

/** One option of a leaf command, as `util.parseArgs` takes it, plus its help line. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly multiple?: boolean;
  readonly short?: string;
  /** The value's name in help (`--out DIR`). */
  readonly arg?: string;
  readonly help: string;
}

export type OptionValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

/** What a leaf receives: its words after the command path, and its options. */
export interface Invocation {
  readonly positionals: readonly string[];
  readonly values: OptionValues;
  readonly io: Io;
}

interface CommandBase {
  readonly name: string;
  readonly summary: string;
  /** A complete command line that works, shown by `--help`. */
  readonly example: string;
}

export interface Leaf extends CommandBase {
  /** The words after the command path: `FILE`, `IMAGE DIR`. */
  readonly args: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /**
   * Exit code for a KhoError the command lets escape: 1 (the default) where
   * it is a check's verdict on the input, 2 where it says the input or the
   * arguments could not be used (a decoder refused them).
   */
  readonly errorExit?: 1 | 2;
  /** Returns the process exit code. */
  run(inv: Invocation): Promise<number> | number;
}

export interface Group extends CommandBase {
  readonly subcommands: readonly Command[];
}

export type Command = Leaf | Group;

export class UsageError extends Error {
  override readonly name = "UsageError";
  /** The command it concerns (`["kho", "abi", "header"]`), set where argv is resolved. */
  path: readonly string[] | null = null;
}

/** Options more than one command takes, declared once. */
export const JSON_OPTION: Readonly<Record<string, OptionSpec>> = {
  json: { type: "boolean", help: "print the result as one JSON document" },
};

export function isGroup(c: Command): c is Group {
  return "subcommands" in c;
}

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(options).map(([name, o]) => {
    const left = `${o.short ? `-${o.short}, ` : ""}--${name}${o.arg ? ` ${o.arg}` : ""}`;
    return [left, `${o.help}${o.multiple ? " (repeatable)" : ""}`] as const;
  });
  rows.push(["-h, --help", "show this help"]);
  const w = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `  ${l.padEnd(w)}  ${r}`);
}

/** The help text of a command at `path` (`["kho", "abi"]`). */
export function helpText(cmd: Command, path: readonly string[]): string {
  const at = path.join(" ");
  if (isGroup(cmd)) {
    const w = Math.max(...cmd.subcommands.map((c) => c.name.length));
    return [
      `usage: ${at} <command> ...`,
      "",
      cmd.summary,
      "",
      ...cmd.subcommands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
      "",
      `${at} <command> --help shows a command's usage.`,
      "",
      `example: ${cmd.example}`,
      "",
    ].join("\n");
  }
  const opts = Object.keys(cmd.options).length > 0 ? " [options]" : "";
  return [
    `usage: ${at}${cmd.args ? ` ${cmd.args}` : ""}${opts}`,
    "",
    cmd.summary,
    "",
    "options:",
    ...optionLines(cmd.options),
    "",
    `example: ${cmd.example}`,
    "",
  ].join("\n");
}

/** util.parseArgs's own errors are usage errors; anything else is a bug and propagates. */
function parseLeaf(cmd: Leaf, args: readonly string[]): { positionals: string[]; values: OptionValues } {
  const all: Record<string, OptionSpec> = { ...cmd.options, help: { type: "boolean", short: "h", help: "" } };
  const options = Object.fromEntries(
    Object.entries(all).map(([name, o]) => [
      name,
      { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) },
    ]),
  );
  try {
    const { positionals, values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
    return { positionals, values };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    // Node's first sentence says it; the rest is advice about `--` that does not apply here.
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_"))
      throw new UsageError((e as Error).message.split(". ")[0]!);
    throw e;
  }
}

/** What `dispatch` found: the leaf to run (or help to print) and the command path it lives at. */
export type Resolved =
  | { readonly kind: "help"; readonly text: string }
  | {
      readonly kind: "run";
      readonly leaf: Leaf;
      readonly path: readonly string[];
      readonly inv: Omit<Invocation, "io">;
    };

/**
 * Walks the tree: a group takes the next word as a subcommand name (or
 * prints its help for `--help`, `-h`, `help` or no word), a leaf parses the
 * rest. The one place argv is interpreted.
 */
export function resolve(cmd: Command, argv: readonly string[], path: readonly string[]): Resolved {
  try {
    return resolveAt(cmd, argv, path);
  } catch (e) {
    if (e instanceof UsageError) e.path ??= path;
    throw e;
  }
}

function resolveAt(cmd: Command, argv: readonly string[], path: readonly string[]): Resolved {
  if (isGroup(cmd)) {
    const [word, ...rest] = argv;
    if (word === undefined) throw new UsageError(`missing command\n\n${helpText(cmd, path)}`);
    if (word === "--help" || word === "-h" || word === "help") return { kind: "help", text: helpText(cmd, path) };
    const sub = cmd.subcommands.find((c) => c.name === word);
    if (!sub) throw new UsageError(`unknown command "${word}"\n\n${helpText(cmd, path)}`);
    return resolve(sub, rest, [...path, word]);
  }
  const parsed = parseLeaf(cmd, argv);
  if (parsed.values.help === true) return { kind: "help", text: helpText(cmd, path) };
  return { kind: "run", leaf: cmd, path, inv: parsed };
}

// Typed readers for option values; parseArgs already checked each option's type.

export function optString(v: OptionValues, name: string): string | undefined {
  const x = v[name];
  return typeof x === "string" ? x : undefined;
}

export function optFlag(v: OptionValues, name: string): boolean {
  return v[name] === true;
}

export function optList(v: OptionValues, name: string): string[] {
  const x = v[name];
  return Array.isArray(x) ? x.filter((s): s is string => typeof s === "string") : [];
}

/** Exactly `names.length` positionals, named in the error when they are not. */
export function expectArgs(inv: Invocation, names: readonly string[]): string[] {
  if (inv.positionals.length !== names.length)
    throw new UsageError(
      inv.positionals.length < names.length
        ? `expected ${names.join(" ")}`
        : `unexpected argument "${inv.positionals[names.length]}"`,
    );
  return [...inv.positionals];
}
