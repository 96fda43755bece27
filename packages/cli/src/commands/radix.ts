import {
  countTree,
  decodeKey,
  encodeKey,
  formatCount,
  hex,
  KEY_PATTERNS,
  type KeyPattern,
  KhoError,
  parseSize,
  type RadixGeometry,
  radixGeometry,
} from "@khosim/kho-core";
import { type Command, checkOptions, type Io, optFlag, optString, parseArgs, UsageError } from "../command.js";

const USAGE = [
  "kho radix geometry [--page-size 4KiB] [--legacy-depth] [--json]",
  "       kho radix key [--page-size 4KiB] PHYS ORDER",
  "       kho radix decode [--page-size 4KiB] KEY",
  "       kho radix count [--page-shift 12] [--pages N] [--order K] [--pattern seq|random|sparse] [--seed S] [--delete-every D] [--hash]",
].join("\n");

/** An unsigned integer as C's strtoull(text, NULL, 0) reads it (0x hex, leading-0 octal, decimal), whole word only. */
function parseCInteger(text: string, what: string): bigint {
  const s = text.trim();
  let digits: string;
  if (/^0x[0-9a-f]+$/i.test(s)) digits = s;
  else if (/^0[0-7]+$/.test(s)) digits = `0o${s.slice(1)}`;
  else if (/^\d+$/.test(s)) digits = s;
  else throw new UsageError(`${what}: "${text}" is not an unsigned integer`);
  const v = BigInt(digits);
  if (v >= 1n << 64n) throw new UsageError(`${what}: "${text}" does not fit 64 bits`);
  return v;
}

function smallInteger(text: string, what: string): number {
  const v = parseCInteger(text, what);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`${what}: "${text}" is too large`);
  return Number(v);
}

function geometryFrom(p: ReturnType<typeof parseArgs>): RadixGeometry {
  const size = parseSize(optString(p, "page-size") ?? "4KiB", "--page-size");
  return radixGeometry(size, { legacyDepth: optFlag(p, "legacy-depth") });
}

function geometryText(g: RadixGeometry): string {
  const lines = [
    `page size      ${g.pageSize} (shift ${g.pageShift})`,
    `depth          ${g.depth}${g.legacyDepth ? " (formula before d64b0372760e)" : ""}`,
    `table entries  ${g.tableEntries} (log2 ${g.tableLog2})`,
    `leaf bits      ${g.leafBits} (log2 ${g.bitmapLog2})`,
    `order-0 bit    ${g.order0Log2} (keys are ${g.keyBits} bits)`,
    `level shifts   ${g.levelShifts.join(" ")} (levels 1..${g.depth - 1})`,
    `covered bits   ${g.coveredBits}`,
    `max order      ${g.maxOrder}`,
  ];
  if (g.coveredBits < g.keyBits)
    lines.push(
      `warning: key bit ${g.order0Log2} is not indexed; order-0 keys lose their order bit and are mis-decoded`,
    );
  return `${lines.join("\n")}\n`;
}

function geometry(args: readonly string[], io: Io): number {
  const p = parseArgs(args, ["legacy-depth", "json"]);
  checkOptions(p, ["page-size", "legacy-depth", "json"]);
  if (p.positional.length) throw new UsageError(`unexpected argument "${p.positional[0]}"`);
  const g = geometryFrom(p);
  io.out(optFlag(p, "json") ? `${JSON.stringify(g)}\n` : geometryText(g));
  return 0;
}

function key(args: readonly string[], io: Io): number {
  const p = parseArgs(args);
  checkOptions(p, ["page-size"]);
  const [phys, order, ...extra] = p.positional;
  if (phys === undefined || order === undefined || extra.length) throw new UsageError("key needs PHYS and ORDER");
  const g = geometryFrom(p);
  const pa = parseCInteger(phys, "PHYS");
  const ord = smallInteger(order, "ORDER");
  // The key holds PHYS >> (page shift + order): lower bits would vanish from it without a word.
  const lost = g.pageShift + ord;
  if (lost < 64 && (pa & ((1n << BigInt(lost)) - 1n)) !== 0n)
    throw new KhoError(
      "ERANGE",
      `PHYS ${hex(pa)} has bits set in 0-${lost - 1}, below the ${g.pageSize}-byte page of order ${ord}: ` +
        "the key cannot hold them",
      "PHYS",
    );
  io.out(`${hex(encodeKey(g, pa, ord))}\n`);
  return 0;
}

function decode(args: readonly string[], io: Io): number {
  const p = parseArgs(args);
  checkOptions(p, ["page-size"]);
  const [text, ...extra] = p.positional;
  if (text === undefined || extra.length) throw new UsageError("decode needs one KEY");
  const g = geometryFrom(p);
  const k = parseCInteger(text, "KEY");
  if (k >= 1n << BigInt(g.keyBits)) throw new UsageError(`KEY ${hex(k)} is wider than ${g.keyBits} bits`);
  const d = decodeKey(g, Number(k));
  io.out(`${hex(d.phys)} ${d.order}\n`);
  return 0;
}

const COUNT_OPTIONS = ["page-shift", "pages", "order", "pattern", "seed", "delete-every", "hash"];

function count(args: readonly string[], io: Io): number {
  const p = parseArgs(args, ["hash"]);
  checkOptions(p, COUNT_OPTIONS);
  if (p.positional.length) throw new UsageError(`unexpected argument "${p.positional[0]}"`);
  const pattern = optString(p, "pattern") ?? "seq";
  if (!(KEY_PATTERNS as readonly string[]).includes(pattern)) throw new UsageError(`unknown pattern ${pattern}`);
  const num = (name: string, dflt: string): number => smallInteger(optString(p, name) ?? dflt, `--${name}`);
  const result = countTree({
    pageShift: num("page-shift", "12"),
    pages: num("pages", String(2 ** 20)),
    order: num("order", "0"),
    pattern: pattern as KeyPattern,
    seed: parseCInteger(optString(p, "seed") ?? "1", "--seed"),
    deleteEvery: num("delete-every", "0"),
  });
  io.out(`${formatCount(result, optFlag(p, "hash"))}\n`);
  return 0;
}

const SUBCOMMANDS: Record<string, (args: readonly string[], io: Io) => number> = { geometry, key, decode, count };

/**
 * `kho radix`: a calculator for the preserved-memory radix tree. `count`
 * reproduces the C reference's `radix_ref count` on this project's tree.
 */
export const radixCommand: Command = {
  name: "radix",
  summary: "radix tree geometry, key encode/decode, and node counts for the reference's key streams",
  usage: USAGE,
  run(args, io) {
    const [sub, ...rest] = args;
    const fn = sub !== undefined && Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
    if (fn === undefined)
      throw new UsageError(sub === undefined ? "missing subcommand" : `unknown subcommand "${sub}"`);
    return fn(rest, io);
  },
};
