import type { LogSink } from "../block/backend.js";
import { KhoError } from "../errors.js";

/**
 * The state `kho_scratch=` controls. `scale` is a percentage of the
 * kernel's own memblock reservations; 0 means "use the three explicit
 * sizes". Sizes are u64 as the kernel holds them (memparse can produce any
 * u64, wrapping included), so they are bigints.
 */
export interface ScratchParams {
  readonly scale: number;
  readonly lowmem: bigint;
  readonly global: bigint;
  readonly pernode: bigint;
}

/** A kernel booted without `kho_scratch=`: twice what the kernel itself reserved. */
export const DEFAULT_SCRATCH_PARAMS: ScratchParams = { scale: 200, lowmem: 0n, global: 0n, pernode: 0n };

/** Characters `kho_scratch=N%` may put before the `%`: the digits of the largest unsigned int. */
const MAX_SCALE_CHARS = 10;

function digitValue(ch: string | undefined, base: number): number {
  if (ch === undefined) return -1;
  const c = ch.toLowerCase();
  const v = c >= "0" && c <= "9" ? c.charCodeAt(0) - 48 : c >= "a" && c <= "f" ? c.charCodeAt(0) - 87 : -1;
  return v < base ? v : -1;
}

/**
 * Parses an unsigned number at `at` the way simple_strtoull does with base
 * 0: `0x` followed by a hex digit selects hex, a leading `0` octal, else
 * decimal; it stops at the first non-digit and wraps modulo 2^64.
 */
function strtoull(text: string, at: number): { value: bigint; end: number } {
  let i = at;
  let base = 10;
  if (text[i] === "0") {
    base = (text[i + 1] === "x" || text[i + 1] === "X") && digitValue(text[i + 2], 16) >= 0 ? 16 : 8;
    if (base === 16) i += 2;
  }
  let value = 0n;
  for (let d = digitValue(text[i], base); d >= 0; d = digitValue(text[++i], base)) {
    value = BigInt.asUintN(64, value * BigInt(base) + BigInt(d));
  }
  return { value, end: i };
}

const SUFFIX_SHIFT: Readonly<Record<string, bigint>> = { k: 10n, m: 20n, g: 30n, t: 40n, p: 50n, e: 60n };

/**
 * The kernel's memparse: a number as above, then one optional suffix letter
 * K/M/G/T/P/E in either case. The suffix is consumed even without digits
 * before it (then the value is 0), exactly as the kernel does.
 */
export function memparse(text: string, at = 0): { value: bigint; end: number } {
  const { value, end } = strtoull(text, at);
  const shift = SUFFIX_SHIFT[(text[end] ?? "").toLowerCase()];
  if (shift === undefined) return { value, end };
  return { value: BigInt.asUintN(64, value << shift), end: end + 1 };
}

/** kstrtouint(s, 10): optional `+`, decimal digits, an optional trailing newline, nothing else. */
function kstrtouint(s: string): number {
  const body = s.startsWith("+") ? s.slice(1) : s;
  const m = /^([0-9]+)\n?$/.exec(body);
  if (!m) throw new KhoError("EINVAL", `"${s}" is not a decimal number`);
  const v = BigInt(m[1]!);
  if (v > 0xffffffffn) throw new KhoError("ERANGE", `${v} does not fit an unsigned int`);
  return Number(v);
}

/**
 * Applies one `kho_scratch=` value to `prev` as the kernel's early_param
 * handler does: `N%` sets only the scale; `<lowmem>,<global>,<pernode>`
 * sets the three sizes and scale 0. Logs the kernel's notice on success.
 * Failures throw EINVAL or ERANGE and change nothing; the kernel then
 * prints "Malformed early option 'kho_scratch'" (init code, not KHO's) and
 * keeps `prev`. `null` is a bare `kho_scratch` without `=`.
 */
export function parseKhoScratch(
  value: string | null,
  prev: ScratchParams = DEFAULT_SCRATCH_PARAMS,
  log: LogSink = () => {},
): ScratchParams {
  if (value === null || value === "") throw new KhoError("EINVAL", "kho_scratch needs a value");
  if (value.endsWith("%")) {
    if (value.length > MAX_SCALE_CHARS + 1)
      throw new KhoError("EINVAL", `kho_scratch scale "${value}" is longer than ${MAX_SCALE_CHARS} characters`);
    const scale = kstrtouint(value.slice(0, -1));
    // %d of an unsigned int: large scales print negative, as in the kernel log.
    log(`scratch scale is ${scale | 0}%`, "info");
    return { ...prev, scale };
  }
  const sizes: bigint[] = [];
  let at = 0;
  for (let i = 0; i < 3; i++) {
    if (i > 0) {
      if (value[at] !== ",") throw new KhoError("EINVAL", `kho_scratch "${value}": expected "," at offset ${at}`);
      at++;
    }
    const { value: size, end } = memparse(value, at);
    if (end === at) throw new KhoError("EINVAL", `kho_scratch "${value}": expected a size at offset ${at}`);
    sizes.push(size);
    at = end;
  }
  const [lowmem, global, pernode] = sizes as [bigint, bigint, bigint];
  if (BigInt.asUintN(64, lowmem + global + pernode) === 0n)
    throw new KhoError("EINVAL", `kho_scratch "${value}": total size is 0`);
  if (at !== value.length) throw new KhoError("EINVAL", `kho_scratch "${value}": unexpected "${value.slice(at)}"`);
  log(`scratch areas: lowmem: ${lowmem >> 20n}MiB global: ${global >> 20n}MiB pernode: ${pernode >> 20n}MiB`, "info");
  return { scale: 0, lowmem, global, pernode };
}
