import { describe, expect, it } from "vitest";
import { type BenchRow, benchRow } from "../src/bench/case.js";
import { allBenchCases } from "../src/bench/cases.js";
import { compareRadixRuns, type RadixRun, radixCases } from "../src/bench/radix.js";
import { runBench, runChild } from "../src/bench/runner.js";
import { formatTable } from "../src/bench/table.js";

const ROW_KEYS = ["case", "unit", "ts", "ref", "ratio", "rss_mib", "check"];

describe("issue 14: npm run bench", () => {
  it("--quick runs every case once, radix rows agree with the C reference and carry its times as ref", async () => {
    const rows = await runBench({ quick: true, rounds: 1, clock: "cpu", isolate: false });
    for (const r of rows) {
      expect(Object.keys(JSON.parse(JSON.stringify(r)))).toEqual(ROW_KEYS);
      expect(r.check, r.case).toBe("ok");
      // Memory above the runtime's own floor may be nothing for a quick pass's tiny inputs; times never are.
      if (r.case.endsWith(" above floor")) expect(r.ts, r.case).toBeGreaterThanOrEqual(0);
      else expect(r.ts, r.case).toBeGreaterThan(0);
      expect(r.rss_mib, r.case).toBeGreaterThan(0);
    }
    // Add, walk and peak RSS for each of the 4 streams at 4, 16 and 64 KiB pages.
    const radix = rows.filter((r) => r.case.startsWith("radix "));
    expect(radix).toHaveLength(radixCases.length * 3);
    for (const size of ["4K", "16K", "64K"])
      for (const stream of ["seq", "random", "sparse"])
        for (const kind of ["add", "walk", "rss"])
          expect(radix.some((r) => r.case.startsWith(`radix ${kind} ${stream} ${size} `))).toBe(true);
    for (const r of radix) {
      expect(r.ref, r.case).toBeGreaterThan(0);
      expect(r.ratio).toBeCloseTo(r.ts! / r.ref!, 9);
    }
    // Block sets have no reference: ref and ratio are null, the check is that every entry came back.
    const blocks = rows.filter((r) => r.case.startsWith("blockset "));
    expect(blocks.map((r) => r.case)).toEqual(["blockset append n=20000", "blockset restore n=20000"]);
    for (const r of blocks) expect([r.ref, r.ratio]).toEqual([null, null]);
    // Every registered case produced rows.
    expect(rows.length).toBeGreaterThanOrEqual((await allBenchCases()).length);
    // The list, beside the radix rows: FDT against libfdt, LUO, the whole-machine live update and the
    // CLI come from the workspace packages that register them (their package.json), so this needs them built.
    const families: [string, "libfdt" | null][] = [
      ["fdt root add/pack n=", "libfdt"],
      ["fdt check_full+walk ", "libfdt"],
      ["fdt parse+check ", "libfdt"],
      ["luo 2000 sessions x 10 files: total serialise+restore", null],
      ["live update 64 GiB: 8 GiB in 4096 folios + 16384 order-0 pages: total", null],
      ["kho sim default scenario (whole process): wall", null],
    ];
    for (const [prefix, ref] of families) {
      const row = rows.find((r) => r.case.startsWith(prefix));
      expect(row, prefix).toBeDefined();
      if (ref) expect(row!.ref, prefix).toBeGreaterThan(0);
      else expect(row!.ref, prefix).toBeNull();
    }
  }, 180_000);

  it("a tree that disagrees with the reference on tree_pages, walked or walk_hash fails its check", () => {
    const c: RadixRun = { addNs: 1, walkNs: 1, treePages: 37, walked: 10, walkHash: "0x0000000000000001" };
    expect(compareRadixRuns({ ...c, addNs: 9, walkNs: 9 }, c)).toBe("ok");
    expect(compareRadixRuns({ ...c, treePages: 38 }, c)).toBe("tree_pages 38 != 37");
    expect(compareRadixRuns({ ...c, walked: 9, walkHash: "0x2" }, c)).toBe(
      "walked 9 != 10, walk_hash 0x2 != 0x0000000000000001",
    );
  });

  it("a case that throws gives one failed row and the other cases still run", async () => {
    const rows = await runBench({
      quick: true,
      rounds: 1,
      clock: "wall",
      isolate: false,
      cases: [
        {
          name: "broken",
          run: () => {
            throw new Error("no such machine");
          },
        },
        { name: "fine", run: () => [benchRow({ case: "fine", unit: "ms", ts: 2, ref: 4, check: "ok" })] },
      ],
    });
    expect(rows.map((r) => [r.case, r.ts, r.check])).toEqual([
      ["broken", null, "error: no such machine"],
      ["fine", 2, "ok"],
    ]);
    expect(rows[1]!.ratio).toBe(0.5);
    // The runner fills in the peak RSS a case left out.
    expect(rows[1]!.rss_mib).toBeGreaterThan(0);
  });

  it("a child process's answer is the named case's rows as JSON", async () => {
    const rows = JSON.parse(
      await runChild("blockset u64 entries", { quick: true, rounds: 1, clock: "cpu" }),
    ) as BenchRow[];
    expect(rows.map((r) => [r.case, r.check])).toEqual([
      ["blockset append n=20000", "ok"],
      ["blockset restore n=20000", "ok"],
    ]);
    await expect(runChild("no such case", { quick: true, rounds: 1, clock: "cpu" })).rejects.toThrow(
      /no benchmark case/,
    );
  });

  it("the table shows every row and the geometric mean of the radix ratios", () => {
    const rows = [
      benchRow({ case: "radix add seq 4K order 0 n=1M", unit: "ns/op", ts: 2, ref: 1, check: "ok" }),
      benchRow({ case: "radix add random 4K order 0 n=1M", unit: "ns/op", ts: 8, ref: 1, check: "ok" }),
      benchRow({ case: "blockset append n=1M", unit: "ns/entry", ts: 5, ref: null, check: "ok" }),
    ];
    const text = formatTable(rows);
    expect(text.split("\n")).toHaveLength(5);
    expect(text).toMatch(/blockset append n=1M\s+ns\/entry\s+5\.0\s+-\s+-/);
    expect(text).toContain("radix add: geometric mean ts/ref 4.00, worst 8.00");
  });
});
