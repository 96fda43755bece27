import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { canonName } from "../src/fdt/canon.js";
import { checkFull, FdtError, fdtVerdict, parseFdt, toCanon } from "../src/fdt/index.js";
import { buildCanonTool, buildDtb, requireTools, runCanon } from "./helpers/corpus.js";
import { buildCorpus, type CorpusBlob, randomTree } from "./helpers/corpus-set.js";

let dir = "";
let tool = "";
let blobs: CorpusBlob[] = [];
let ref = new Map<string, string>();

beforeAll(() => {
  requireTools();
  const c = buildCorpus();
  dir = c.dir;
  blobs = c.blobs;
  tool = buildCanonTool(dir);
  ref = runCanon(
    tool,
    dir,
    blobs.map((b) => b.path),
  );
}, 60_000);

/** libfdt 1.6.1 faults on pre-v16 roots without '/'; the model reports BADSTRUCTURE there. */
function expected(path: string): string {
  const r = ref.get(path);
  if (r === undefined) throw new Error(`no reference output for ${path}`);
  return r === "CRASH\n" ? "INVALID FDT_ERR_BADSTRUCTURE\n" : r;
}

describe("checkFull and toCanon against libfdt 1.6.1", () => {
  it("covers a corpus of several hundred blobs, valid and invalid", () => {
    const verdicts = blobs.map((b) => ref.get(b.path)!.split(" ")[0]!.trim());
    const valid = verdicts.filter((v) => v === "header").length;
    const invalid = verdicts.filter((v) => v === "INVALID").length;
    expect(blobs.length).toBeGreaterThan(1000);
    expect(valid).toBeGreaterThan(150);
    expect(invalid).toBeGreaterThan(500);
    const names = new Set(
      blobs
        .map((b) => ref.get(b.path)!)
        .filter((r) => r.startsWith("INVALID"))
        .map((r) => r.trim()),
    );
    for (const n of ["BADMAGIC", "BADVERSION", "TRUNCATED", "BADSTRUCTURE", "BADOFFSET"])
      expect(names).toContain(`INVALID FDT_ERR_${n}`);
  });

  it("prints the same canon listing (or INVALID name) as the C tool for every blob", () => {
    const mismatches: string[] = [];
    for (const b of blobs) {
      const got = toCanon(b.blob);
      if (got !== expected(b.path))
        mismatches.push(
          `${b.name} (${b.path}):\n  libfdt: ${expected(b.path).slice(0, 300)}\n  ours:   ${got.slice(0, 300)}`,
        );
    }
    expect(mismatches.slice(0, 5).join("\n")).toBe("");
    expect(mismatches.length).toBe(0);
  });

  it("throws only FdtError, with libfdt's error name and a location", () => {
    let traversalOnly = 0;
    for (const b of blobs) {
      const exp = expected(b.path);
      let thrown: unknown;
      try {
        checkFull(b.blob);
      } catch (e) {
        thrown = e;
      }
      if (exp.startsWith("INVALID") && thrown === undefined) {
        // fdt_check_full passed and libfdt's traversal failed afterwards:
        // fdt_get_name on a pre-v16 child whose name has no '/'.
        expect(new DataView(b.blob.buffer).getUint32(20), b.name).toBeLessThan(16);
        traversalOnly++;
      } else if (exp.startsWith("INVALID")) {
        expect(thrown, b.name).toBeInstanceOf(FdtError);
        expect(`INVALID ${(thrown as FdtError).fdtErr}\n`).toBe(exp);
        expect((thrown as FdtError).where).toBeTruthy();
      } else {
        expect(thrown, b.name).toBeUndefined();
      }
    }
    expect(traversalOnly).toBeLessThan(20);
  });

  it("honours bufsize like fdt_check_full does", () => {
    const b = buildDtb(randomTree(5));
    expect(fdtVerdict(b)).toBeNull();
    expect(fdtVerdict(b, b.length - 1)).toBe("FDT_ERR_TRUNCATED");
    expect(fdtVerdict(b, 27)).toBe("FDT_ERR_TRUNCATED");
    expect(fdtVerdict(b, b.length + 100)).toBeNull();
  });

  it("parseFdt returns the tree in document order, matching the canon nodes", () => {
    for (const b of blobs.slice(0, 200)) {
      const exp = expected(b.path);
      if (exp.startsWith("INVALID")) {
        expect(() => parseFdt(b.blob)).toThrow(FdtError);
        continue;
      }
      const t = parseFdt(b.blob);
      const names: string[] = [];
      const visit = (
        n: { name: string; children: { name: string; children: never[] }[] } | ReturnType<typeof parseFdt>["root"],
      ): void => {
        names.push(n.name);
        for (const c of n.children) visit(c);
      };
      visit(t.root);
      expect(names.length).toBe(exp.split("\n").filter((l) => l.startsWith("node ")).length);
      expect(t.root.name).toBe("");
      expect(exp.startsWith(`header version=${t.header.version} `)).toBe(true);
      expect(t.memreserve.length).toBe(exp.split("\n").filter((l) => l.startsWith("memreserve ")).length);
    }
  });

  it("issue 14: parseFdt's direct decoder holds every name and value libfdt's walk shows, in every version", () => {
    const te = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    const hex = (v: Uint8Array) => Array.from(v, (x) => x.toString(16).padStart(2, "0")).join("");
    const versions: number[] = [];
    for (const b of blobs) {
      const exp = expected(b.path);
      if (exp.startsWith("INVALID")) continue;
      // What libfdt accepts but no tree can hold: no root node, or a length of 2^31 or more (libfdt's bound
      // check wraps; there are no bytes to decode).
      const lengths = [...exp.matchAll(/^prop \S+ \S* (\d+)/gm)].map((m) => Number(m[1]));
      if (!exp.includes("\nnode ") || lengths.some((n) => n >= 2 ** 31)) {
        expect(() => parseFdt(b.blob), b.path).toThrow(FdtError);
        continue;
      }
      const t = parseFdt(b.blob);
      // The canon tool's lines, from the tree: a node, its properties, then its children.
      const lines = [`header version=${t.header.version} last_comp=${t.header.last_comp_version} boot_cpuid=`];
      const visit = (n: (typeof t)["root"], path: string[]): void => {
        const p = [...path, canonName(te(n.name))];
        const at = p.join("/") || "/";
        lines.push(`node ${at}`);
        for (const q of n.props) {
          const value = q.value.length > 0 ? ` ${hex(q.value)}` : "";
          lines.push(`prop ${at} ${canonName(te(q.name))} ${q.value.length}${value}`);
        }
        for (const c of n.children) visit(c, p);
      };
      visit(t.root, []);
      const want = exp.split("\n").filter((l) => l.startsWith("node ") || l.startsWith("prop "));
      // A property after a subnode is in the tree but not in libfdt's walk: such blobs cannot be compared line by line.
      if (want.length !== lines.length - 1) continue;
      expect(exp.startsWith(lines[0]!), b.path).toBe(true);
      expect(lines.slice(1), b.path).toEqual(want);
      versions.push(t.header.version);
    }
    expect(versions.length).toBeGreaterThan(1000);
    // The pre-v16 rules (full-path names, 8-byte value padding) went through the decoder too.
    expect([...new Set(versions)].sort((x, y) => x - y)).toEqual(expect.arrayContaining([2, 3, 15, 16, 17]));
  });

  it("keeps a property placed after a subnode in parseFdt (dtc reads it) while libfdt's walk skips it", () => {
    const b = blobs.find((x) => x.name === "b-prop-after-child")!;
    expect(toCanon(b.blob)).toBe(expected(b.path));
    expect(toCanon(b.blob)).not.toContain("prop / a ");
    expect(parseFdt(b.blob).root.props.map((p) => p.name)).toEqual(["a"]);
  });
});

describe("fast-check: random damage never escapes as anything but FdtError and matches libfdt", () => {
  it("random byte mutations of random trees", () => {
    const pdir = mkdtempSync(join(tmpdir(), "khosim-fdt-fc-"));
    const cases: Uint8Array[] = [];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1 << 30 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.option(fc.nat(), { nil: undefined }),
        (seed, edits, cut) => {
          const base = buildDtb(randomTree(seed));
          const m = base.slice(0, cut === undefined ? base.length : cut % (base.length + 1));
          for (const [at, val] of edits) if (m.length > 0) m[at % m.length] = val;
          let verdict: string;
          try {
            checkFull(m);
            verdict = "ok";
          } catch (e) {
            if (!(e instanceof FdtError)) return false;
            verdict = e.fdtErr;
          }
          cases.push(m);
          return verdict.length > 0;
        },
      ),
      { numRuns: 300, seed: 0x5eed },
    );
    const paths = cases.map((c, i) => {
      const p = join(pdir, `${i}.dtb`);
      writeFileSync(p, c);
      return p;
    });
    const r = runCanon(tool, pdir, paths);
    paths.forEach((p, i) => {
      const exp = r.get(p) === "CRASH\n" ? "INVALID FDT_ERR_BADSTRUCTURE\n" : r.get(p);
      expect(toCanon(cases[i]!), p).toBe(exp);
    });
  });
});
