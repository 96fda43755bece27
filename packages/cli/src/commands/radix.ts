import { hex, KhoError, parseSize } from "@khosim/kho-core";
import {
  countTree,
  decodeKey,
  encodeKey,
  formatCount,
  KEY_PATTERNS,
  type KeyPattern,
  type RadixGeometry,
  radixGeometry,
} from "@khosim/kho-core/radix";
import {
  type Command,
  expectArgs,
  JSON_OPTION,
  type Leaf,
  type OptionValues,
  optFlag,
  optString,
  UsageError,
} from "../command.js";

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

function geometryFrom(v: OptionValues): RadixGeometry {
  const size = parseSize(optString(v, "page-size") ?? "4KiB", "--page-size");
  return radixGeometry(size, { legacyDepth: optFlag(v, "legacy-depth") });
}

const PAGE_SIZE = { "page-size": { type: "string", arg: "SIZE", help: "4KiB (default), 16KiB or 64KiB" } } as const;

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

const geometry: Leaf = {
  name: "geometry",
  summary: "depth, table sizes, level shifts and max order of the tree for a page size",
  args: "",
  example: "kho radix geometry --page-size 16KiB",
  options: {
    ...PAGE_SIZE,
    "legacy-depth": { type: "boolean", help: "the depth formula before d64b0372760e" },
    ...JSON_OPTION,
  },
  run(inv) {
    expectArgs(inv, []);
    const g = geometryFrom(inv.values);
    inv.io.out(optFlag(inv.values, "json") ? `${JSON.stringify(g)}\n` : geometryText(g));
    return 0;
  },
};

const key: Leaf = {
  name: "key",
  summary: "the radix key of a physical address and order",
  args: "PHYS ORDER",
  example: "kho radix key 0x200000 9",
  options: PAGE_SIZE,
  run(inv) {
    const [phys, order] = expectArgs(inv, ["PHYS", "ORDER"]);
    const g = geometryFrom(inv.values);
    const pa = parseCInteger(phys!, "PHYS");
    const ord = smallInteger(order!, "ORDER");
    // The key holds PHYS >> (page shift + order): lower bits would vanish from it without a word.
    const lost = g.pageShift + ord;
    if (lost < 64 && (pa & ((1n << BigInt(lost)) - 1n)) !== 0n)
      throw new KhoError(
        "ERANGE",
        `PHYS ${hex(pa)} has bits set in 0-${lost - 1}, below the ${g.pageSize}-byte page of order ${ord}: ` +
          "the key cannot hold them",
        "PHYS",
      );
    inv.io.out(`${hex(encodeKey(g, pa, ord))}\n`);
    return 0;
  },
};

const decode: Leaf = {
  name: "decode",
  summary: "the physical address and order a radix key stands for",
  args: "KEY",
  example: "kho radix decode 0x10000000000001",
  options: PAGE_SIZE,
  run(inv) {
    const [text] = expectArgs(inv, ["KEY"]);
    const g = geometryFrom(inv.values);
    const k = parseCInteger(text!, "KEY");
    if (k >= 1n << BigInt(g.keyBits)) throw new UsageError(`KEY ${hex(k)} is wider than ${g.keyBits} bits`);
    const d = decodeKey(g, Number(k));
    inv.io.out(`${hex(d.phys)} ${d.order}\n`);
    return 0;
  },
};

const count: Leaf = {
  name: "count",
  summary: "node pages and walk hash for a key stream, as the C reference's `radix_ref count` prints them",
  args: "",
  example: "kho radix count --pages 100000 --pattern random --hash",
  options: {
    "page-shift": { type: "string", arg: "N", help: "12 (default), 14 or 16" },
    pages: { type: "string", arg: "N", help: "keys in the stream (default 2^20)" },
    order: { type: "string", arg: "K", help: "order of every key (default 0)" },
    pattern: { type: "string", arg: "P", help: `key pattern: ${KEY_PATTERNS.join(", ")} (default seq)` },
    seed: { type: "string", arg: "S", help: "seed of the random patterns (default 1)" },
    "delete-every": { type: "string", arg: "D", help: "delete every D-th key after adding (default 0: none)" },
    hash: { type: "boolean", help: "also print the walk hash" },
  },
  errorExit: 2,
  run(inv) {
    expectArgs(inv, []);
    const v = inv.values;
    const pattern = optString(v, "pattern") ?? "seq";
    if (!(KEY_PATTERNS as readonly string[]).includes(pattern)) throw new UsageError(`unknown pattern ${pattern}`);
    const num = (name: string, dflt: string): number => smallInteger(optString(v, name) ?? dflt, `--${name}`);
    const result = countTree({
      pageShift: num("page-shift", "12"),
      pages: num("pages", String(2 ** 20)),
      order: num("order", "0"),
      pattern: pattern as KeyPattern,
      seed: parseCInteger(optString(v, "seed") ?? "1", "--seed"),
      deleteEvery: num("delete-every", "0"),
    });
    inv.io.out(`${formatCount(result, optFlag(v, "hash"))}\n`);
    return 0;
  },
};

/**
 * `kho radix`: a calculator for the preserved-memory radix tree. `count`
 * reproduces the C reference's `radix_ref count` on this project's tree.
 */
export const radixCommand: Command = {
  name: "radix",
  summary: "radix tree geometry, key encode/decode, and node counts for the reference's key streams",
  example: "kho radix key 0x200000 9 --page-size 4KiB",
  subcommands: [geometry, key, decode, count],
};
