import { afterEach, describe, expect, it } from "vitest";
import { compareRoot, compareSeen, libfdtRows, roWalk, type TreeSeen, treeSeen } from "../src/bench/fdt-libfdt.js";
import { largeDtb, manyPropsDtb, wideDtb } from "../src/bench/fdt-shapes.js";
import { parseFdt } from "../src/fdt/parse.js";
import { getPropByOffsetRc } from "../src/fdt/ro.js";

const QUICK = { quick: true, rounds: 1, clock: "cpu" } as const;

describe("issue 14: the FDT cases against libfdt", () => {
  const saved = { CC: process.env.CC, CI: process.env.CI };
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("--quick: the root FDT after kho_add_subtree x 100 is libfdt's page byte for byte; both walks agree", () => {
    const rows = libfdtRows(QUICK);
    expect(rows.map((r) => [r.case, r.unit, r.check])).toEqual([
      ["fdt root add/pack n=100 64K", "ms", "ok"],
      ["fdt check_full 64 KiB", "ms", "ok"],
      ["fdt check_full+walk 64 KiB", "ms", "ok"],
      ["fdt parse+check 64 KiB", "ms", "ok"],
    ]);
    for (const r of rows) {
      expect(r.ts, r.case).toBeGreaterThan(0);
      expect(r.ref, r.case).toBeGreaterThan(0);
      expect(r.ratio).toBeCloseTo(r.ts! / r.ref!, 9);
    }
  }, 60_000);

  it("a root FDT that differs from libfdt's, even past totalsize, fails the check", () => {
    const page = new Uint8Array(64).fill(7);
    expect(compareRoot(page, page.slice())).toBe("ok");
    const stale = page.slice();
    stale[63] = 0;
    expect(compareRoot(page, stale)).toBe("root FDT differs from libfdt's at byte 63");
    expect(compareRoot(page, page.subarray(0, 60))).toBe("root FDT page is 64 bytes, libfdt's 60");
  });

  it("the walk through this project's libfdt calls sees what the parsed tree holds, in the same order", () => {
    const blob64 = largeDtb(64 * 1024);
    for (const blob of [blob64, wideDtb(300), manyPropsDtb(500)])
      expect(roWalk(blob, true)).toEqual(treeSeen(parseFdt(blob).root));
    // fdt_getprop_by_offset refuses an offset that is not a property's, as libfdt does (-FDT_ERR_BADOFFSET).
    expect(getPropByOffsetRc(blob64, 0)).toBe(-4);
    expect(getPropByOffsetRc(blob64, 2)).toBe(-4);
    // Without the digest the counts are the same.
    const blob = largeDtb(16 * 1024);
    expect({ ...roWalk(blob, false), digest: "" }).toEqual({ ...treeSeen(parseFdt(blob).root), digest: "" });
  });

  it("a walk that saw other nodes, properties or bytes than libfdt's fails the check", () => {
    const seen: TreeSeen = { nodes: 3, props: 5, name_bytes: 20, value_bytes: 40, digest: "0x0000abcd" };
    const c = { nodes: "3", props: "5", name_bytes: "20", value_bytes: "40", digest: "0x0000abcd" };
    expect(compareSeen(seen, c)).toBe("ok");
    expect(compareSeen({ ...seen, props: 4, digest: "0x00000001" }, c)).toBe(
      "props 4 != 5, digest 0x00000001 != 0x0000abcd",
    );
  });

  it("without a C compiler it says so in check; under CI the case fails loudly instead", () => {
    process.env.CC = "/nonexistent/cc";
    delete process.env.CI;
    const rows = libfdtRows(QUICK);
    expect(rows.map((r) => [r.case, r.ts, r.check])).toEqual([
      ["fdt against libfdt", null, "not run: no C compiler /nonexistent/cc (set CC) to build the libfdt harness"],
    ]);
    process.env.CI = "true";
    expect(() => libfdtRows(QUICK)).toThrow(/^\[CI\] the libfdt harness is required: no C compiler/);
  });
});
