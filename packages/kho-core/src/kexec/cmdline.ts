import { KhoError } from "../errors.js";

/**
 * A kernel command line split as the kernel's parse_args does for the
 * parameters the simulator knows: `name=value` or bare `name`, separated by
 * spaces, double quotes grouping a value. Later occurrences win, as with
 * early_param handlers that simply overwrite.
 */
export class Cmdline {
  private readonly params = new Map<string, string | null>();

  constructor(readonly text: string) {
    for (const word of splitWords(text)) {
      const eq = word.indexOf("=");
      if (eq < 0) this.params.set(word, null);
      else this.params.set(word.slice(0, eq), word.slice(eq + 1));
    }
  }

  /** The value of `name=value`; undefined when absent, null for a bare `name`. */
  get(name: string): string | null | undefined {
    return this.params.get(name);
  }

  /** A boolean parameter read with kstrtobool; `fallback` when absent or unparsable. */
  bool(name: string, fallback: boolean): boolean {
    const v = this.params.get(name);
    if (v === undefined || v === null) return fallback;
    return kstrtobool(v) ?? fallback;
  }
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
