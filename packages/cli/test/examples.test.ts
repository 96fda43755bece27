import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { capture } from "./helpers/io.js";

const DIR = resolve(import.meta.dirname, "../../../examples/scenarios");

/** Every example scenario, its exit status, and a line of its report that shows what it is about. */
const EXAMPLES: Record<string, { status: number; line: string }> = {
  "default.yaml": { status: 0, line: "    hugetlb-sample: no plugin for this node (120 bytes at " },
  "radix-depth-16k.yaml": {
    status: 0,
    line: "  preserved: 7 blocks, 70368744183808 pages (order 11: 3, order 44: 4); pages by owner: ",
  },
  "luo-version-skew.yaml": { status: 0, line: "    LUO by luo: blob is unidentifiable, kernel accepts luo-v1" },
  "luo-duplicate-session.yaml": { status: 0, line: "    luo: Block contains invalid entry count: 0" },
  "hugetlb-1tib.yaml": {
    status: 0,
    line: "  verified: 274877927424 bytes identical, 6337 checked by plugins, 0 mismatches",
  },
  "kho-off-after-kho.yaml": { status: 0, line: "  KHO: off; handover honoured" },
};

describe("issue 12 must-show: every example scenario runs with its expected exit status", () => {
  it("the table covers every file in examples/scenarios", () => {
    expect(readdirSync(DIR).sort()).toEqual(Object.keys(EXAMPLES).sort());
  });

  for (const [file, want] of Object.entries(EXAMPLES))
    it(`${file}: exit ${want.status}, and its report shows what it is about`, async () => {
      const io = capture();
      expect(await main(["sim", join(DIR, file)], io), io.stderr).toBe(want.status);
      expect(
        io.stdout.split("\n").some((l) => l.startsWith(want.line)),
        io.stdout,
      ).toBe(true);
      expect(io.stdout).toMatch(/\nexpectations: (\d+) of \1 hold\n/);
    });
});
