/**
 * FDT cases against libfdt: the same calls on the same bytes, in the same
 * run. The libfdt side is bench-c/fdt_bench.c, compiled here with -lfdt into
 * a temporary folder and timed inside in CPU time. Each side's time is the
 * best over rounds of the mean of REPS runs back to back: a mean, not a best
 * run, so that the collector's work on what parseFdt allocates is counted
 * (a best single run can fall between two collections).
 *
 * - root add/pack: kho_init()'s root FDT, then 1000 kho_add_subtree() calls
 *   (fdt_open_into, fdt_add_subnode, fdt_setprop x 2, fdt_pack) on a 64 KiB
 *   page. Here they are KhoOut.addSubtree itself; the whole page, stale
 *   bytes past totalsize included, must equal libfdt's.
 * - check_full and parse+check of a 1 MiB DTB of ordinary devices: checkFull
 *   against fdt_check_full, and parseFdt (which checks, then decodes every
 *   node and property) against fdt_check_full plus a walk that reads every
 *   node name and property (fdt_next_node, fdt_get_name,
 *   fdt_first/next_property_offset, fdt_getprop_by_offset). Both must see
 *   the same nodes, properties, name and value bytes (counts and a digest).
 *
 *   npm run bench -- --only libfdt
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkFull } from "../fdt/check.js";
import { type FdtNode, parseFdt } from "../fdt/parse.js";
import {
  E_NOTFOUND,
  firstPropertyOffsetRc,
  getNameRc,
  getPropByOffsetRc,
  getStringRc,
  nextNodeRc,
  nextPropertyOffsetRc,
} from "../fdt/ro.js";
import { KhoOut } from "../kho/out.js";
import { KernelLog } from "../log.js";
import { PageAllocator } from "../mem/alloc.js";
import { PhysMem } from "../mem/phys.js";
import {
  type BenchCase,
  type BenchContext,
  type BenchRow,
  type BenchTimer,
  benchRow,
  benchTimer,
  collectGarbage,
} from "./case.js";
import { largeDtb } from "./fdt-shapes.js";
import { compileC } from "./reference.js";

/** The harness source: beside src/ and dist/ alike. */
const HARNESS_SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../bench-c/fdt_bench.c");

/** What subtree i records; the harness uses the same numbers (SUB_PA, SUB_STEP, SUB_SIZE). */
const SUB_PA = 0x1_0000_0000;
const SUB_STEP = 0x1_0000;
const SUB_SIZE = 0x1000;
const ROOT_PAGE = 64 * 1024;
const GiB = 2 ** 30;

/** Runs back to back in one round, on each side; a round's time is their mean. */
const REPS = 5;

/**
 * Compiles the harness (compileC) and returns the binary. Throws what is
 * missing: a C compiler, libfdt's header or its library.
 */
export function libfdtHarness(): string {
  return compileC({
    name: "fdt_bench",
    what: "the libfdt harness",
    args: () => ["-O2", "-Wall", "-Wextra", "-std=gnu11", HARNESS_SRC, "-lfdt"],
    explain: (stderr) => (/libfdt\.h|-lfdt/.test(stderr) ? "libfdt is missing (install libfdt-dev)" : null),
  });
}

/** The harness's `key=value` answer as numbers (hex digests as their text in `text`). */
function harness(args: readonly string[]): { num: Record<string, number>; text: Record<string, string> } {
  const out = execFileSync(libfdtHarness(), args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const num: Record<string, number> = {};
  const text: Record<string, string> = {};
  for (const kv of out.trim().split(/\s+/)) {
    const [k, v] = kv.split("=") as [string, string];
    text[k] = v;
    num[k] = Number(v);
  }
  return { num, text };
}

/** A kernel's outgoing KHO on a one-node machine of 64 KiB pages, right after kho_init(). */
function freshKhoOut(): KhoOut {
  const mem = new PhysMem(ROOT_PAGE, [{ start: GiB, size: GiB, nid: 0 }]);
  return KhoOut.init({
    mem,
    alloc: new PageAllocator(mem),
    log: new KernelLog().scoped("KHO: "),
    debug: false,
    scratch: [],
  });
}

/** `n` kho_add_subtree() calls after kho_init() (not timed), `reps` times; the mean time and the last root. */
function rootTs(n: number, reps: number, now: BenchTimer): { ns: number; out: KhoOut } {
  let ns = 0;
  let out = freshKhoOut();
  for (let r = 0; r < reps; r++) {
    if (r > 0) out = freshKhoOut();
    const t0 = now();
    for (let i = 0; i < n; i++) out.addSubtree(`subtree-${i}`, SUB_PA + i * SUB_STEP, SUB_SIZE + i);
    ns += now() - t0;
  }
  return { ns: ns / reps, out };
}

/** "ok" when this project's root FDT page equals libfdt's byte for byte, else where they part. */
export function compareRoot(ts: Uint8Array, c: Uint8Array): string {
  const n = Math.min(ts.length, c.length);
  for (let i = 0; i < n; i++) if (ts[i] !== c[i]) return `root FDT differs from libfdt's at byte ${i}`;
  return ts.length === c.length ? "ok" : `root FDT page is ${ts.length} bytes, libfdt's ${c.length}`;
}

function rootRows(ctx: BenchContext, dir: string): BenchRow[] {
  const n = ctx.quick ? 100 : 1000;
  const now = benchTimer(ctx.clock);
  const clock = ctx.clock === "wall" ? ["--wall"] : [];
  const file = join(dir, "root.dtb");
  const best = { ts: Infinity, ref: Infinity };
  let check = "ok";
  // Warm-up: the measured rounds run optimised code, as the C side does from the start.
  if (!ctx.quick) rootTs(n, 3, now);
  for (let r = 0; r < ctx.rounds; r++) {
    const mapPa = freshKhoOut().tree.root;
    const c = harness([...clock, "root", String(n), String(ROOT_PAGE), String(REPS), String(mapPa), file]);
    best.ref = Math.min(best.ref, c.num.ns!);
    collectGarbage();
    const { ns, out } = rootTs(n, REPS, now);
    best.ts = Math.min(best.ts, ns);
    if (out.tree.root !== mapPa) check = `radix root at ${out.tree.root}, not ${mapPa}`;
    const same = compareRoot(out.fdt, readFileSync(file));
    if (same !== "ok") check = same;
  }
  return [
    benchRow({ case: `fdt root add/pack n=${n} 64K`, unit: "ms", ts: best.ts / 1e6, ref: best.ref / 1e6, check }),
  ];
}

/** What a reader of the whole tree saw: the harness's walk counts and digest. */
export interface TreeSeen {
  nodes: number;
  props: number;
  name_bytes: number;
  value_bytes: number;
  digest: string;
}

/** FNV-1a of the bytes, then of a NUL, as the harness takes it. */
function fnv(h: number, bytes: ArrayLike<number>): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 16777619) >>> 0;
  return Math.imul(h, 16777619) >>> 0;
}

const latin1Bytes = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/** The parsed tree in document order (properties before children, as in any dtc-made blob). */
export function treeSeen(root: FdtNode): TreeSeen {
  const seen = { nodes: 0, props: 0, name_bytes: 0, value_bytes: 0, digest: "" };
  let h = 2166136261;
  const visit = (node: FdtNode): void => {
    seen.nodes++;
    seen.name_bytes += node.name.length;
    h = fnv(h, latin1Bytes(node.name));
    for (const p of node.props) {
      seen.props++;
      seen.name_bytes += p.name.length;
      seen.value_bytes += p.value.length;
      h = fnv(fnv(h, latin1Bytes(p.name)), p.value);
    }
    for (const c of node.children) visit(c);
  };
  visit(root);
  seen.digest = `0x${h.toString(16).padStart(8, "0")}`;
  return seen;
}

/** Bytes [pos, pos + len) of the blob, for the digest. */
const span = (blob: Uint8Array, at: { pos: number; len: number }): Uint8Array => blob.subarray(at.pos, at.pos + at.len);

function rc<T>(r: T | number, what: string): T {
  if (typeof r === "number") throw new Error(`${what} failed with ${r}`);
  return r;
}

/**
 * The harness's walk through this project's libfdt calls: fdt_next_node,
 * fdt_get_name, fdt_first/next_property_offset, fdt_getprop_by_offset and
 * the property's name (fdt_get_string), counting what they return; the
 * digest only when asked (the timed rounds, like the harness's, skip it).
 */
export function roWalk(blob: Uint8Array, digest: boolean): TreeSeen {
  const seen = { nodes: 0, props: 0, name_bytes: 0, value_bytes: 0, digest: "" };
  let h = 2166136261;
  const depth = { d: 0 };
  let node: number;
  for (node = nextNodeRc(blob, -1, depth); node >= 0; node = nextNodeRc(blob, node, depth)) {
    const name = rc(getNameRc(blob, node), "fdt_get_name");
    seen.nodes++;
    seen.name_bytes += name.len;
    if (digest) h = fnv(h, span(blob, name));
    let prop: number;
    for (prop = firstPropertyOffsetRc(blob, node); prop >= 0; prop = nextPropertyOffsetRc(blob, prop)) {
      const p = rc(getPropByOffsetRc(blob, prop), "fdt_getprop_by_offset");
      const pname = rc(getStringRc(blob, p.nameoff), "fdt_get_string");
      seen.props++;
      seen.name_bytes += pname.len;
      seen.value_bytes += p.len;
      if (digest) h = fnv(fnv(h, span(blob, pname)), blob.subarray(p.valuePos, p.valuePos + p.len));
    }
    if (prop !== E_NOTFOUND) throw new Error(`fdt_next_property_offset failed with ${prop}`);
  }
  if (node !== E_NOTFOUND) throw new Error(`fdt_next_node failed with ${node}`);
  seen.digest = `0x${h.toString(16).padStart(8, "0")}`;
  return seen;
}

/** What differs between this project's view of the tree and the harness's answer, "ok" when nothing does. */
export function compareSeen(ts: TreeSeen, c: Record<string, string>): string {
  const bad = (Object.keys(ts) as (keyof TreeSeen)[])
    .filter((k) => String(ts[k]) !== c[k])
    .map((k) => `${k} ${ts[k]} != ${c[k]}`);
  return bad.length ? bad.join(", ") : "ok";
}

/**
 * The mean time of `reps` runs back to back after a full collection: the
 * collector's work on the runs' own garbage counts, not on what came before.
 */
function meanOf(reps: number, now: BenchTimer, f: () => void): number {
  collectGarbage();
  const t0 = now();
  for (let k = 0; k < reps; k++) f();
  return (now() - t0) / reps;
}

function walkRows(ctx: BenchContext, dir: string): BenchRow[] {
  const size = ctx.quick ? 64 * 1024 : 2 ** 20;
  const what = ctx.quick ? "64 KiB" : "1 MiB";
  const blob = largeDtb(size);
  const file = join(dir, "devices.dtb");
  writeFileSync(file, blob);
  const now = benchTimer(ctx.clock);
  const clock = ctx.clock === "wall" ? ["--wall"] : [];
  const best = { check: Infinity, walk: Infinity, parse: Infinity, cCheck: Infinity, cWalk: Infinity };
  if (!ctx.quick) meanOf(20, now, () => parseFdt(blob));
  const c1 = harness([...clock, "walk", file, "1"]).text;
  const check = compareSeen(treeSeen(parseFdt(blob).root), c1);
  const walkCheck = compareSeen(roWalk(blob, true), c1);
  for (let r = 0; r < ctx.rounds; r++) {
    const c = harness([...clock, "walk", file, String(REPS)]);
    best.cCheck = Math.min(best.cCheck, c.num.check_ns!);
    best.cWalk = Math.min(best.cWalk, c.num.walk_ns!);
    best.check = Math.min(
      best.check,
      meanOf(REPS, now, () => checkFull(blob)),
    );
    best.walk = Math.min(
      best.walk,
      meanOf(REPS, now, () => {
        checkFull(blob);
        roWalk(blob, false);
      }),
    );
    best.parse = Math.min(
      best.parse,
      meanOf(REPS, now, () => parseFdt(blob)),
    );
  }
  return [
    benchRow({ case: `fdt check_full ${what}`, unit: "ms", ts: best.check / 1e6, ref: best.cCheck / 1e6, check }),
    benchRow({
      case: `fdt check_full+walk ${what}`,
      unit: "ms",
      ts: best.walk / 1e6,
      ref: best.cWalk / 1e6,
      check: walkCheck,
    }),
    benchRow({ case: `fdt parse+check ${what}`, unit: "ms", ts: best.parse / 1e6, ref: best.cWalk / 1e6, check }),
  ];
}

/**
 * The rows, or, when the harness cannot be built, this project's side alone
 * with the reason in `check` (which fails the run). Under CI the case throws
 * instead: CI installs libfdt-dev, so a missing harness there is a broken
 * machine, not a reason to report half a comparison.
 */
export function libfdtRows(ctx: BenchContext): BenchRow[] {
  try {
    libfdtHarness();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (process.env.CI === "true") throw new Error(`[CI] the libfdt harness is required: ${why}`);
    return [benchRow({ case: "fdt against libfdt", unit: "", ts: null, ref: null, check: `not run: ${why}` })];
  }
  const dir = mkdtempSync(join(tmpdir(), "khosim-fdt-bench-"));
  try {
    return [...rootRows(ctx, dir), ...walkRows(ctx, dir)];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const FDT_LIBFDT_CASES: readonly BenchCase[] = [{ name: "fdt against libfdt", run: libfdtRows }];
