import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { DtsError, fdtVerdict, parseFdt, toDts } from "../src/fdt/index.js";
import { buildDtb, type DtcResult, requireTools, runDtc } from "./helpers/corpus.js";
import { buildCorpus, type CorpusBlob, randomTree } from "./helpers/corpus-set.js";

let valid: CorpusBlob[] = [];
let dtc = new Map<string, DtcResult>();

beforeAll(() => {
  requireTools();
  const c = buildCorpus();
  valid = c.blobs.filter((b) => fdtVerdict(b.blob) === null);
  dtc = runDtc(
    c.dir,
    valid.map((b) => b.path),
  );
}, 60_000);

/** toDts output, or "refused" where it throws DtsError like dtc failing. */
function ours(input: Uint8Array): string {
  try {
    return toDts(input);
  } catch (e) {
    if (e instanceof DtsError) return "refused";
    throw e;
  }
}

describe("toDts against dtc 1.6.1 -I dtb -O dts", () => {
  it("matches dtc byte for byte on every valid corpus blob, and refuses where dtc fails", () => {
    expect(valid.length).toBeGreaterThan(150);
    let printed = 0;
    const mismatches: string[] = [];
    for (const b of valid) {
      const r = dtc.get(b.path)!;
      const exp = r.status === 0 ? r.stdout : "refused";
      if (r.status === 0) printed++;
      const got = ours(b.blob);
      if (got !== exp)
        mismatches.push(
          `${b.name} (${b.path}) dtc=${r.status}\n--- dtc\n${exp.slice(0, 600)}\n--- ours\n${got.slice(0, 600)}`,
        );
    }
    expect(mismatches.slice(0, 3).join("\n")).toBe("");
    expect(printed).toBeGreaterThan(100);
    expect(valid.length - printed).toBeGreaterThan(10);
  });

  it("prints the hand-written sources the way dtc does, including the dropped name property", () => {
    const names = valid.filter((b) => b.name === "dts-name-prop" || b.name === "dts-strings");
    expect(names.length).toBe(2);
    for (const b of names) expect(toDts(b.blob)).toBe(dtc.get(b.path)!.stdout);
    expect(toDts(names.find((b) => b.name === "dts-name-prop")!.blob)).not.toContain("name =");
  });

  it("accepts a decoded tree as well as a blob", () => {
    const b = valid.find((x) => x.name === "dts-units")!;
    expect(toDts(parseFdt(b.blob))).toBe(dtc.get(b.path)!.stdout);
  });
});

describe("fast-check: random trees print like dtc", () => {
  it("random tree -> blob -> toDts equals dtc", () => {
    const dir = mkdtempSync(join(tmpdir(), "khosim-dts-fc-"));
    const cases: { path: string; blob: Uint8Array }[] = [];
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 30 }), fc.boolean(), fc.constantFrom(16, 17), (seed, odd, version) => {
        const blob = buildDtb(randomTree(seed, odd), { version, lastComp: 16 });
        const path = join(dir, `${cases.length}.dtb`);
        writeFileSync(path, blob);
        cases.push({ path, blob });
        return fdtVerdict(blob) === null;
      }),
      { numRuns: 150, seed: 0xd7c },
    );
    const r = runDtc(
      dir,
      cases.map((c) => c.path),
    );
    for (const c of cases) {
      const d = r.get(c.path)!;
      expect(ours(c.blob), c.path).toBe(d.status === 0 ? d.stdout : "refused");
    }
  });
});
