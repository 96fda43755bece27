/**
 * Radix tree cases: add, delete and walk on the C reference's key streams,
 * against the reference doing the same (its `bench` command). Each round
 * runs the reference and then this project's tree, the same number of
 * times, so both see the same machine load; times are the best of each.
 */
import { execFileSync } from "node:child_process";
import { type KeyPattern, type KeyStream, keyStream, scratchTree, WalkHash } from "../radix/stream.js";
import type { KhoRadixTree } from "../radix/tree.js";
import {
  type BenchCase,
  type BenchContext,
  type BenchRow,
  type BenchTimer,
  benchRow,
  benchTimer,
  collectGarbage,
} from "./case.js";
import { referenceBinary, referenceCpuBinary, runReferenceMeasured } from "./reference.js";

export interface RadixScenario {
  readonly pageShift: 12 | 14 | 16;
  readonly pages: number;
  readonly order: number;
  readonly pattern: KeyPattern;
}

/** Delete every 4th block between add and walk, so the walk sees holes (the reference does the same). */
const DELETE_EVERY = 4;
const SEED = 1n;
const WARMUP_PASSES = 3;

/**
 * Peak RSS (MiB) of a fresh process that runs the scenario once, as the
 * reference's process does: in the measuring process, trees of earlier runs
 * whose pages the collector has not handed back yet would count too.
 */
function singleRunRssMiB(s: RadixScenario): number {
  const script = [
    `import { runRadixTs } from ${JSON.stringify(import.meta.url)};`,
    `runRadixTs(${JSON.stringify(s)});`,
    "process.stdout.write(String(process.resourceUsage().maxRSS));",
  ].join("\n");
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  return Number(out) / 1024;
}

/** One run's result on either side. */
export interface RadixRun {
  readonly addNs: number;
  readonly walkNs: number;
  readonly treePages: number;
  readonly walked: number;
  readonly walkHash: string;
}

/*
 * The timed loops live in small functions of their own, not inline in runRadixTs: a loop inline would be compiled
 * on stack replacement in every run, specialised to that run's objects and thrown away with them, and the
 * compiler's time would count against the run. Functions called once per run stay optimised from run to run.
 */

function addAll(tree: KhoRadixTree, stream: KeyStream, pages: number, order: number): void {
  for (let i = 0; i < pages; i++) tree.addPage(stream.pfnAt(i), order);
}

function deleteEvery(tree: KhoRadixTree, stream: KeyStream, pages: number, order: number): void {
  for (let i = 0; i < pages; i += DELETE_EVERY) tree.delPage(stream.pfnAt(i), order);
}

/** Walks the tree into the reference's digest. */
function walkDigest(tree: KhoRadixTree, hash: WalkHash): void {
  tree.walkBatches(hash);
}

/**
 * A small tree per page size that lives as long as the process, walked once. Between runs every tree is garbage
 * and the bench collects it; without a live object of each kind the collector also drops the hidden classes
 * (maps) the optimised code was specialised for, that code is thrown away ("weak objects" in --trace-deopt) and
 * every run would start cold. A long-lived program keeps its maps; this keeps them here.
 */
const mapAnchors = new Map<number, { readonly tree: KhoRadixTree; readonly hash: WalkHash }>();

function anchorMaps(pageShift: number, stream: KeyStream, order: number): void {
  if (mapAnchors.has(pageShift)) return;
  const { tree } = scratchTree(pageShift);
  addAll(tree, stream, 2, order);
  deleteEvery(tree, stream, 1, order);
  const hash = new WalkHash();
  walkDigest(tree, hash);
  mapAnchors.set(pageShift, { tree, hash });
}

/**
 * This project's tree on the stream, doing what the reference's run_once
 * does: the timed add loop generates its keys too, deletes are not timed,
 * the walk feeds the same digest.
 */
export function runRadixTs(
  s: RadixScenario,
  stream: KeyStream = keyStream({ ...s, seed: SEED }),
  nowNs: BenchTimer = benchTimer("wall"),
): RadixRun {
  anchorMaps(s.pageShift, stream, s.order);
  const t0 = nowNs();
  const { tree } = scratchTree(s.pageShift);
  addAll(tree, stream, s.pages, s.order);
  const t1 = nowNs();
  // Finish the collector's work on what the adds allocated now (with --expose-gc), so that a CPU clock does not
  // charge it, running on a helper thread, to the walk, which allocates next to nothing. Before the deletes, which
  // allocate nothing either: the walk then starts, as the reference's does, right after them, with the caches as
  // they left them rather than as a full collection's pass over the heap did.
  collectGarbage();
  deleteEvery(tree, stream, s.pages, s.order);
  const hash = new WalkHash();
  const t2 = nowNs();
  walkDigest(tree, hash);
  const t3 = nowNs();
  const walked = hash.walked;
  return {
    addNs: (t1 - t0) / s.pages,
    walkNs: walked ? (t3 - t2) / walked : 0,
    treePages: tree.nodePages,
    walked,
    walkHash: hash.toString(),
  };
}

interface ReferenceBench {
  readonly add_ns_per_op: number;
  readonly walk_ns_per_page: number;
  readonly tree_pages: number;
  readonly walked: number;
  readonly walk_hash: string;
}

/** The reference's best of `reps` runs in one process (its --reps). */
function runRadixC(s: RadixScenario, binary: string, reps: number): RadixRun & { readonly maxRssKiB: number | null } {
  const args = ["bench", "--page-shift", String(s.pageShift), "--pages", String(s.pages)];
  args.push("--order", String(s.order), "--pattern", s.pattern, "--seed", String(SEED));
  args.push("--reps", String(reps), "--delete-every", String(DELETE_EVERY));
  const { out, maxRssKiB } = runReferenceMeasured(args, binary);
  const j = JSON.parse(out) as ReferenceBench;
  return {
    addNs: j.add_ns_per_op,
    walkNs: j.walk_ns_per_page,
    treePages: j.tree_pages,
    walked: j.walked,
    walkHash: j.walk_hash,
    maxRssKiB,
  };
}

/** What differs between two runs' tree shape and walk, "ok" when nothing does. */
export function compareRadixRuns(ts: RadixRun, c: RadixRun): string {
  const bad: string[] = [];
  if (ts.treePages !== c.treePages) bad.push(`tree_pages ${ts.treePages} != ${c.treePages}`);
  if (ts.walked !== c.walked) bad.push(`walked ${ts.walked} != ${c.walked}`);
  if (ts.walkHash !== c.walkHash) bad.push(`walk_hash ${ts.walkHash} != ${c.walkHash}`);
  return bad.length ? bad.join(", ") : "ok";
}

const count = (n: number) => (n % 2 ** 20 === 0 ? `${n / 2 ** 20}M` : n % 1024 === 0 ? `${n / 1024}K` : String(n));

export function radixCaseName(s: RadixScenario): string {
  return `${s.pattern} ${2 ** (s.pageShift - 10)}K order ${s.order} n=${count(s.pages)}`;
}

/**
 * Runs one scenario for ctx.rounds rounds and reports add, walk and peak RSS
 * against the reference. A round is `samples` runs on each side (the
 * reference's --reps, then as many runs here): short scenarios take more
 * samples, as a run of a millisecond is easily hit by a descheduling or a
 * helper thread's burst on a shared machine.
 */
export function radixRows(s: RadixScenario, ctx: BenchContext, samples = 1): BenchRow[] {
  const best = { tsAdd: Infinity, tsWalk: Infinity, cAdd: Infinity, cWalk: Infinity };
  let cRssKiB: number | null = null;
  let check = "ok";
  // One stream for every round: a new one would be a new pfnAt closure, and the optimised loop would start over.
  const stream = keyStream({ ...s, seed: SEED });
  const clock = benchTimer(ctx.clock);
  const binary = ctx.clock === "cpu" ? referenceCpuBinary() : referenceBinary();
  // Unmeasured passes on a sixteenth of the stream first, so the measured rounds run optimised code (the C side
  // is compiled ahead of time). The first passes of a cold process are several times slower, mostly interpreted.
  if (!ctx.quick)
    for (let w = 0; w < WARMUP_PASSES; w++) runRadixTs({ ...s, pages: Math.ceil(s.pages / 16) }, stream, clock);
  for (let r = 0; r < ctx.rounds; r++) {
    const c = runRadixC(s, binary, samples);
    if (c.maxRssKiB !== null) cRssKiB = Math.max(cRssKiB ?? 0, c.maxRssKiB);
    best.cAdd = Math.min(best.cAdd, c.addNs);
    best.cWalk = Math.min(best.cWalk, c.walkNs);
    for (let k = 0; k < samples; k++) {
      // The previous run's tree is garbage: collect it so peak RSS is one tree's.
      collectGarbage();
      const ts = runRadixTs(s, stream, clock);
      const same = compareRadixRuns(ts, c);
      if (same !== "ok") check = same;
      best.tsAdd = Math.min(best.tsAdd, ts.addNs);
      best.tsWalk = Math.min(best.tsWalk, ts.walkNs);
    }
  }
  const name = radixCaseName(s);
  const tsRssMiB = ctx.quick ? process.resourceUsage().maxRSS / 1024 : singleRunRssMiB(s);
  const cRssMiB = cRssKiB === null ? null : cRssKiB / 1024;
  return [
    benchRow({ case: `radix add ${name}`, unit: "ns/op", ts: best.tsAdd, ref: best.cAdd, check }),
    benchRow({ case: `radix walk ${name}`, unit: "ns/page", ts: best.tsWalk, ref: best.cWalk, check }),
    benchRow({ case: `radix rss ${name}`, unit: "MiB", ts: tsRssMiB, ref: cRssMiB, check }),
  ];
}

/**
 * The key streams at each page size; a quick pass runs the same
 * shapes with fewer blocks. `samples` per round is 16 for the stream whose
 * runs take about a millisecond (see radixRows).
 */
const SHAPES = [
  { pattern: "seq", order: 0, pages: 2 ** 20, quickPages: 16384, samples: 1 },
  { pattern: "random", order: 0, pages: 2 ** 20, quickPages: 16384, samples: 1 },
  { pattern: "seq", order: 9, pages: 65536, quickPages: 4096, samples: 16 },
  { pattern: "sparse", order: 0, pages: 65536, quickPages: 1024, samples: 1 },
] as const;

/** One case per page size and stream shape. */
export const radixCases: readonly BenchCase[] = ([12, 14, 16] as const).flatMap((pageShift) =>
  SHAPES.map(({ pattern, order, pages, quickPages, samples }) => ({
    name: `radix ${pattern} ${2 ** (pageShift - 10)}K order ${order}`,
    run: (ctx: BenchContext) =>
      radixRows({ pageShift, order, pattern, pages: ctx.quick ? quickPages : pages }, ctx, ctx.quick ? 1 : samples),
  })),
);
