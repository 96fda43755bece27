import { KhoError } from "./errors.js";

const SUFFIX: Record<string, number> = {
  "": 1,
  b: 1,
  k: 2 ** 10,
  kb: 2 ** 10,
  kib: 2 ** 10,
  m: 2 ** 20,
  mb: 2 ** 20,
  mib: 2 ** 20,
  g: 2 ** 30,
  gb: 2 ** 30,
  gib: 2 ** 30,
  t: 2 ** 40,
  tb: 2 ** 40,
  tib: 2 ** 40,
  p: 2 ** 50,
  pib: 2 ** 50,
};

/**
 * Parses a size as users write it: `4096`, `0x1000`, `4KiB`, `2MiB`, `1TiB`,
 * `16k`. The result must be an exact integer below 2^53.
 */
export function parseSize(text: string | number, what = "size"): number {
  if (typeof text === "number") {
    if (!Number.isSafeInteger(text) || text < 0)
      throw new KhoError("EINVAL", `${what}: ${text} is not a size in bytes`);
    return text;
  }
  const s = text.trim();
  const hex = /^0x([0-9a-f]+)$/i.exec(s);
  if (hex) return checked(Number.parseInt(hex[1]!, 16), text, what);
  const m = /^(\d+)\s*([a-z]*)$/i.exec(s);
  const mult = m ? SUFFIX[m[2]!.toLowerCase()] : undefined;
  if (!m || mult === undefined)
    throw new KhoError("EINVAL", `${what}: cannot parse "${text}" (expected e.g. 4096, 0x1000, 4KiB, 2MiB, 1TiB)`);
  return checked(Number(m[1]) * mult, text, what);
}

function checked(n: number, text: string, what: string): number {
  if (!Number.isSafeInteger(n)) throw new KhoError("ERANGE", `${what}: "${text}" does not fit in 53 bits`);
  return n;
}

/** Lowercase hex with a 0x prefix and no padding, as the kernel's %llx prints. */
export function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}
