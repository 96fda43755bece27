/**
 * `npm run bench`: the radix tree of this project against the C reference
 * on the same key streams, in the same run, on the same machine. Each
 * TypeScript scenario runs in a child process of its own so its peak RSS is
 * its own; the reference's peak RSS comes from /usr/bin/time when present.
 *
 *   node packages/kho-core/dist/bench/index.js [--reps R]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type KeyPattern, keyStream, scratchTree, WalkHash } from "../radix/stream.js";
import { runFdtBench } from "./fdt.js";
import { referenceBinary } from "./reference.js";

interface Scenario {
  readonly pageShift: number;
  readonly pages: number;
  readonly order: number;
  readonly pattern: KeyPattern;
  readonly deleteEvery: number;
}

interface Measured {
  addNs: number;
  delNs: number | null;
  walkNs: number;
  treePages: number;
  walked: number;
  walkHash: string;
  maxRssKiB: number | null;
}

const SCENARIOS: readonly Scenario[] = [
  { pageShift: 12, pages: 1_000_000, order: 0, pattern: "seq", deleteEvery: 4 },
  { pageShift: 12, pages: 1_000_000, order: 0, pattern: "random", deleteEvery: 4 },
  { pageShift: 12, pages: 200_000, order: 0, pattern: "sparse", deleteEvery: 4 },
  { pageShift: 14, pages: 500_000, order: 2, pattern: "random", deleteEvery: 4 },
  { pageShift: 16, pages: 500_000, order: 0, pattern: "random", deleteEvery: 4 },
];

const SEED = 1n;

/** One TypeScript scenario, best of `reps` (as the reference reports it). */
function runTs(s: Scenario, reps: number): Measured {
  const stream = keyStream({ ...s, seed: SEED });
  const pfns = Float64Array.from({ length: s.pages }, (_, i) => stream.pfnAt(i));
  let best: Measured | null = null;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    const tree = scratchTree(s.pageShift);
    for (let i = 0; i < s.pages; i++) tree.addPage(pfns[i]!, s.order);
    const t1 = process.hrtime.bigint();
    let deletes = 0;
    for (let i = 0; i < s.pages; i += s.deleteEvery) {
      tree.delPage(pfns[i]!, s.order);
      deletes++;
    }
    const t2 = process.hrtime.bigint();
    const hash = new WalkHash();
    let walked = 0;
    tree.walk((phys, order) => {
      walked++;
      hash.add(phys, order);
      return 0;
    });
    const t3 = process.hrtime.bigint();
    const m: Measured = {
      addNs: Number(t1 - t0) / s.pages,
      delNs: deletes ? Number(t2 - t1) / deletes : 0,
      walkNs: walked ? Number(t3 - t2) / walked : 0,
      treePages: tree.nodePages,
      walked,
      walkHash: hash.toString(),
      maxRssKiB: null,
    };
    if (best === null) best = m;
    else {
      best.addNs = Math.min(best.addNs, m.addNs);
      best.delNs = Math.min(best.delNs!, m.delNs!);
      best.walkNs = Math.min(best.walkNs, m.walkNs);
    }
  }
  best!.maxRssKiB = process.resourceUsage().maxRSS;
  return best!;
}

const TIME = "/usr/bin/time";

/** The reference's `bench` for the same scenario (it does not time deletes). */
function runC(s: Scenario, reps: number): Measured {
  const args = [
    "bench",
    "--page-shift",
    String(s.pageShift),
    "--pages",
    String(s.pages),
    "--order",
    String(s.order),
    "--pattern",
    s.pattern,
    "--seed",
    String(SEED),
    "--reps",
    String(reps),
    "--delete-every",
    String(s.deleteEvery),
  ];
  let out: string;
  let maxRssKiB: number | null = null;
  if (existsSync(TIME)) {
    const dir = mkdtempSync(join(tmpdir(), "khosim-bench-"));
    try {
      const f = join(dir, "rss");
      out = execFileSync(TIME, ["-f", "%M", "-o", f, referenceBinary(), ...args], { encoding: "utf8" });
      maxRssKiB = Number(readFileSync(f, "utf8").trim().split("\n").at(-1));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else out = execFileSync(referenceBinary(), args, { encoding: "utf8" });
  const j = JSON.parse(out) as {
    add_ns_per_op: number;
    walk_ns_per_page: number;
    tree_pages: number;
    walked: number;
    walk_hash: string;
  };
  return {
    addNs: j.add_ns_per_op,
    delNs: null,
    walkNs: j.walk_ns_per_page,
    treePages: j.tree_pages,
    walked: j.walked,
    walkHash: j.walk_hash,
    maxRssKiB,
  };
}

const f1 = (n: number) => n.toFixed(1);
const mib = (kib: number | null) => (kib === null ? "n/a" : (kib / 1024).toFixed(0));

function main(argv: readonly string[]): number {
  const repsAt = argv.indexOf("--reps");
  const reps = repsAt >= 0 ? Number(argv[repsAt + 1]) : 3;
  if (!Number.isInteger(reps) || reps < 1) throw new Error("--reps needs a positive integer");
  // A child runs one scenario and prints its measurement as JSON.
  const oneAt = argv.indexOf("--one");
  if (oneAt >= 0) {
    process.stdout.write(JSON.stringify(runTs(JSON.parse(argv[oneAt + 1]!) as Scenario, reps)));
    return 0;
  }
  referenceBinary();
  const self = fileURLToPath(import.meta.url);
  const rows: string[][] = [
    [
      "scenario",
      "add ns/op TS",
      "C",
      "TS/C",
      "walk ns/page TS",
      "C",
      "TS/C",
      "del ns/op TS",
      "tree pages",
      "peak RSS MiB TS",
      "C",
    ],
  ];
  let bad = 0;
  const addRatios: number[] = [];
  const walkRatios: number[] = [];
  for (const s of SCENARIOS) {
    const c = runC(s, reps);
    const ts = JSON.parse(
      execFileSync(process.execPath, [self, "--one", JSON.stringify(s), "--reps", String(reps)], { encoding: "utf8" }),
    ) as Measured;
    const same = ts.treePages === c.treePages && ts.walked === c.walked && ts.walkHash === c.walkHash;
    if (!same) bad++;
    addRatios.push(ts.addNs / c.addNs);
    walkRatios.push(ts.walkNs / c.walkNs);
    rows.push([
      `${s.pattern} p=${s.pageShift} order=${s.order} n=${s.pages}${same ? "" : " MISMATCH"}`,
      f1(ts.addNs),
      f1(c.addNs),
      (ts.addNs / c.addNs).toFixed(2),
      f1(ts.walkNs),
      f1(c.walkNs),
      (ts.walkNs / c.walkNs).toFixed(2),
      f1(ts.delNs ?? 0),
      String(ts.treePages),
      mib(ts.maxRssKiB),
      mib(c.maxRssKiB),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));
  const geo = (xs: number[]) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
  console.log(
    `\ngeometric mean TS/C: add ${geo(addRatios).toFixed(2)}, walk ${geo(walkRatios).toFixed(2)} (best of ${reps}; the reference does not time deletes)`,
  );
  if (bad) console.log(`${bad} scenario(s) disagree with the reference on tree_pages/walked/walk_hash`);
  console.log("");
  const fdtMissed = runFdtBench();
  return bad || fdtMissed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
