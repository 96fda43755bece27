import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Io } from "../src/command.js";
import { main } from "../src/main.js";

// The C reference beside the repository, built for this file; no compiler means a failed test, not a skipped one.
const REFERENCE_SRC =
  process.env.KHOSIM_REFERENCE_SRC ?? resolve(import.meta.dirname, "../../../../shared/reference/radix_ref.c");
let refDir = "";
let ref = "";
beforeAll(() => {
  refDir = mkdtempSync(join(tmpdir(), "khosim-cli-radix-"));
  ref = join(refDir, "radix_ref");
  execFileSync(process.env.CC ?? "cc", ["-O2", "-std=gnu11", "-o", ref, REFERENCE_SRC], {
    stdio: ["ignore", "pipe", "pipe"],
  });
});
afterAll(() => rmSync(refDir, { recursive: true, force: true }));

async function kho(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  };
  const code = await main(argv, io);
  return { code, out, err };
}

describe("kho radix", () => {
  it("geometry --json prints one object with depth, table entries, leaf bits and level shifts", async () => {
    const r = await kho("radix", "geometry", "--page-size", "16KiB", "--json");
    expect(r.code).toBe(0);
    expect(r.out.trimEnd().split("\n")).toHaveLength(1);
    expect(JSON.parse(r.out)).toMatchObject({
      pageSize: 16384,
      depth: 5,
      tableEntries: 2048,
      leafBits: 131072,
      levelShifts: [17, 28, 39, 50],
      legacyDepth: false,
    });
    const old = JSON.parse((await kho("radix", "geometry", "--page-size", "16KiB", "--legacy-depth", "--json")).out);
    expect(old).toMatchObject({ depth: 4, levelShifts: [17, 28, 39], legacyDepth: true, coveredBits: 50, keyBits: 51 });
  });

  it("geometry prints plain text and warns when the legacy depth drops the order bit", async () => {
    const fixed = await kho("radix", "geometry", "--page-size", "64KiB");
    expect(fixed.out).toContain("depth          4\n");
    expect(fixed.out).toContain("table entries  8192 (log2 13)\n");
    expect(fixed.out).toContain("leaf bits      524288 (log2 19)\n");
    expect(fixed.out).toContain("level shifts   19 32 45 (levels 1..3)\n");
    expect(fixed.out).not.toContain("warning");
    const old = await kho("radix", "geometry", "--page-size", "16KiB", "--legacy-depth");
    expect(old.out).toContain("depth          4 (formula before d64b0372760e)\n");
    expect(old.out).toMatch(/warning: key bit 50 is not indexed/);
  });

  it("key prints the key in lowercase hex and decode inverts it", async () => {
    expect(await kho("radix", "key", "--page-size", "4KiB", "0x1000", "0")).toEqual({
      code: 0,
      out: "0x10000000000001\n",
      err: "",
    });
    expect((await kho("radix", "key", "--page-size", "4KiB", "0x200000", "9")).out).toBe("0x80000000001\n");
    expect((await kho("radix", "key", "--page-size", "4KiB", "0xfffffffffffff000", "0")).out).toBe(
      "0x1fffffffffffff\n",
    );
    expect((await kho("radix", "decode", "--page-size", "4KiB", "0x10000000000001")).out).toBe("0x1000 0\n");
    expect((await kho("radix", "decode", "--page-size", "4KiB", "0x1fffffffffffff")).out).toBe(
      "0xfffffffffffff000 0\n",
    );
    expect((await kho("radix", "decode", "--page-size", "16KiB", "0x1")).out).toBe("0x0 50\n");
  });

  it("rejects bad input with a usage or KHO error, not a crash", async () => {
    expect((await kho("radix", "key", "--page-size", "4KiB", "0x1000")).code).toBe(2);
    expect((await kho("radix", "key", "--page-size", "4KiB", "0x1000", "52")).code).toBe(1);
    expect((await kho("radix", "decode", "--page-size", "16KiB", "0x8000000000000")).code).toBe(2);
    expect((await kho("radix", "geometry", "--page-size", "8KiB")).code).toBe(1);
    expect((await kho("radix", "frobnicate")).code).toBe(2);
    expect((await kho("radix", "toString")).code).toBe(2);
    expect((await kho("radix", "count", "--pattern", "zigzag")).code).toBe(2);
    expect((await kho("radix", "count", "--bogus", "1")).code).toBe(2);
  });

  it("issue 13: key refuses PHYS bits the key cannot hold (ERANGE naming them), instead of dropping them", async () => {
    const r = await kho("radix", "key", "0xffffffffffffffff", "0");
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toContain("ERANGE");
    expect(r.err).toContain("bits set in 0-11");
    const o9 = await kho("radix", "key", "0x201000", "9");
    expect(o9.err).toContain("bits set in 0-20");
    expect((await kho("radix", "key", "0x200000", "9")).code).toBe(0);
  });

  it("count agrees with the C reference on every pattern and page size", async () => {
    for (const pageShift of [12, 14, 16])
      for (const pattern of ["seq", "random", "sparse"] as const)
        for (const [order, pages, deleteEvery, seed] of [
          [0, 10000, 0, 1n],
          [4, 2000, 5, 99n],
        ] as const) {
          const args = [
            "--page-shift",
            String(pageShift),
            "--pages",
            String(pages),
            "--order",
            String(order),
            "--pattern",
            pattern,
            "--seed",
            String(seed),
            "--delete-every",
            String(deleteEvery),
          ];
          const r = await kho("radix", "count", ...args, "--hash");
          expect(r.code).toBe(0);
          expect(r.out).toBe(execFileSync(ref, ["count", ...args, "--hash"], { encoding: "utf8" }));
        }
    // Without --hash the line has two fields, as the reference prints it.
    expect((await kho("radix", "count", "--pages", "0x10")).out).toBe('{"tree_pages": 6, "walked": 16}\n');
  });

  it("issue 13: count --pattern sparse holds at most 64 MiB of node pages and prints the reference's line", () => {
    // 2^16 blocks of 16 KiB pages: 512 MiB of node pages in one tree (8 GiB at the default 2^20 blocks).
    const args = ["--page-shift", "14", "--pages", String(1 << 16), "--pattern", "sparse", "--hash"];
    const bin = resolve(import.meta.dirname, "../bin/kho.js");
    const r = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, bin, "radix", "count", ...args], {
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(execFileSync(ref, ["count", ...args], { encoding: "utf8" }));
    const peakKiB = Number(r.stderr.trim().split("\n").at(-1));
    expect(peakKiB).toBeLessThan(400 * 1024);
  });
});
