import { KhoError } from "../errors.js";

/**
 * A kernel command line split as the kernel's parse_args does for the
 * parameters the simulator knows: `name=value` or bare `name`, separated by
 * spaces, double quotes grouping a value. Every occurrence is kept in
 * order: early_param handlers run once per occurrence.
 */
export class Cmdline {
  private readonly words: readonly { readonly name: string; readonly value: string | null }[];

  constructor(readonly text: string) {
    this.words = splitWords(text).map((word) => {
      const eq = word.indexOf("=");
      return eq < 0 ? { name: word, value: null } : { name: word.slice(0, eq), value: word.slice(eq + 1) };
    });
  }

  /** The last value of `name` (what a handler that simply overwrites ends with); undefined when absent. */
  get(name: string): string | null | undefined {
    return this.words.findLast((w) => w.name === name)?.value;
  }

  /**
   * A boolean parameter read with kstrtobool at every occurrence, in order:
   * the last one that parses wins, one that does not keeps the earlier
   * value; `fallback` when none parses.
   */
  bool(name: string, fallback: boolean): boolean {
    let v = fallback;
    for (const w of this.words) if (w.name === name && w.value !== null) v = kstrtobool(w.value) ?? v;
    return v;
  }

  /**
   * do_early_param() over the whole line: every word whose name has a
   * handler runs it, in command-line order, so repeated parameters apply in
   * turn. A handler that fails (throws a KhoError) must leave its state as
   * it was; `malformed(name)` then stands for the kernel's "Malformed early
   * option '<name>'".
   */
  early(handlers: Readonly<Record<string, (value: string | null) => void>>, malformed: (name: string) => void): void {
    for (const { name, value } of this.words) {
      const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined;
      if (!handler) continue;
      try {
        handler(value);
      } catch (e) {
        if (!(e instanceof KhoError)) throw e;
        malformed(name);
      }
    }
  }
}

/** kho=: kstrtobool of the value; a bare `kho` or an unparsable value is EINVAL. */
export function parseKhoEnable(value: string | null): boolean {
  const v = value === null ? undefined : kstrtobool(value);
  if (v === undefined) throw new KhoError("EINVAL", `kho=${value ?? ""} is not a boolean`, "kho");
  return v;
}

function splitWords(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  let any = false;
  for (const ch of text) {
    if (ch === '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (any) out.push(cur);
      cur = "";
      any = false;
    } else {
      cur += ch;
      any = true;
    }
  }
  if (quoted) throw new KhoError("EINVAL", `unterminated quote in command line "${text}"`);
  if (any) out.push(cur);
  return out;
}

/**
 * The kernel's kstrtobool: looks at the first character (and the second for
 * "on"/"off"); returns undefined where the kernel returns -EINVAL.
 */
export function kstrtobool(s: string): boolean | undefined {
  switch (s[0]) {
    case "y":
    case "Y":
    case "t":
    case "T":
    case "1":
      return true;
    case "n":
    case "N":
    case "f":
    case "F":
    case "0":
      return false;
    case "o":
    case "O":
      if (s[1] === "n" || s[1] === "N") return true;
      if (s[1] === "f" || s[1] === "F") return false;
      return undefined;
    default:
      return undefined;
  }
}
