import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DtbWriter, deepDtb, manyPropsDtb, str, u32s, wideDtb } from "../src/bench/fdt-shapes.js";
import { decodeDebugfs } from "../src/debugfs/decode.js";
import { canonChunks, toCanon } from "../src/fdt/canon.js";
import { checkFull, fdtVerdict } from "../src/fdt/check.js";
import { CHUNK_CHARS } from "../src/fdt/chunks.js";
import { dtsChunks, toDts } from "../src/fdt/dts.js";
import { DtsError } from "../src/fdt/dts-error.js";
import { FdtError } from "../src/fdt/errors.js";
import { parseFdt } from "../src/fdt/parse.js";
import { buildCanonTool, requireTools, runCanon, runDtc } from "./helpers/corpus.js";

/*
 * Issue 13, the DTB side: inputs built to hang, overflow the stack or take
 * time and memory out of proportion, each now a clean FdtError or the
 * output dtc/libfdt print, in bounded time.
 */

let dir = "";
let canonTool = "";

beforeAll(() => {
  requireTools();
  dir = mkdtempSync(join(tmpdir(), "khosim-fdt-hostile-"));
  canonTool = buildCanonTool(dir);
}, 60_000);

/** The 86-byte blob of the issue: the root's one property has length 0xfffffff4. */
function wrappingBlob(len = 0xfffffff4): Uint8Array {
  const b = new DtbWriter().begin("").prop("a", new Uint8Array(0)).end().finish();
  // The property's length word: header 40, reserve map 16, BEGIN_NODE + empty name 8, PROP tag 4.
  new DataView(b.buffer).setUint32(40 + 16 + 8 + 4, len);
  return b;
}

function file(name: string, blob: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, blob);
  return p;
}

function elapsed(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function first<T>(it: Iterable<T>): T | undefined {
  for (const x of it) return x;
  return undefined;
}

describe("issue 13: a property length that wraps the tag walk (libfdt 1.6.1 loops, dtc segfaults)", () => {
  it("is the 86-byte blob of the issue, and every reader refuses it with FDT_ERR_BADSTRUCTURE at once", () => {
    const blob = wrappingBlob();
    expect(blob.length).toBe(86);
    const ms = elapsed(() => {
      expect(fdtVerdict(blob)).toBe("FDT_ERR_BADSTRUCTURE");
      expect(() => parseFdt(blob)).toThrow(FdtError);
      expect(() => toDts(blob)).toThrow(/FDT_ERR_BADSTRUCTURE/);
      expect(toCanon(blob)).toBe("INVALID FDT_ERR_BADSTRUCTURE\n");
    });
    expect(ms).toBeLessThan(1000);
  });

  it("is reported as an invalid root FDT by the debugfs decoder, which used to spin on it", () => {
    const r = decodeDebugfs(new Map([["in/fdt", wrappingBlob()]]));
    expect(r.in?.fdt?.status).toBe("invalid");
    expect(r.in?.fdt?.error).toContain("FDT_ERR_BADSTRUCTURE");
  });

  it("keeps libfdt's verdict for every other length near 2^32, where libfdt's walk ends", () => {
    const lens = Array.from({ length: 16 }, (_, i) => 0xfffffff0 + i).filter((l) => l !== 0xfffffff4);
    const paths = lens.map((l) => file(`wrap-${l.toString(16)}.dtb`, wrappingBlob(l)));
    const ref = runCanon(canonTool, dir, paths);
    for (const [i, l] of lens.entries()) expect(toCanon(wrappingBlob(l)), l.toString(16)).toBe(ref.get(paths[i]!));
  });
});

describe("issue 13: deep trees (no recursion on the input's depth)", () => {
  it("checks and parses 100 000 nested nodes", () => {
    const blob = deepDtb(100_000);
    expect(() => checkFull(blob)).not.toThrow();
    let n = parseFdt(blob).root;
    let depth = 0;
    while (n.children.length === 1) {
      n = n.children[0]!;
      depth++;
    }
    expect(depth).toBe(100_000);
  });

  it("prints 100 000 nested nodes as a stream: the first chunk comes at once, and no chunk is giant", () => {
    const blob = deepDtb(100_000, "n", [["interrupts", u32s(1)]]);
    for (const chunks of [dtsChunks(blob), canonChunks(blob)]) {
      let seen = 0;
      let count = 0;
      for (const c of chunks) {
        expect(c.length).toBeLessThan(2 * CHUNK_CHARS);
        seen += c.length;
        if (++count === 64) break;
      }
      expect(seen).toBeGreaterThan(CHUNK_CHARS);
    }
  });

  it("prints 5 000 nested nodes exactly as dtc and the libfdt canon tool do", () => {
    const blob = deepDtb(5_000, "n@1", [["reg", u32s(1, 2)]]);
    const p = file("deep5000.dtb", blob);
    const dtc = runDtc(dir, [p]).get(p)!;
    expect(dtc.status).toBe(0);
    expect(toDts(blob)).toBe(dtc.stdout);
    expect(toCanon(blob)).toBe(runCanon(canonTool, dir, [p]).get(p));
  });
});

describe("issue 13: wide trees in linear time", () => {
  it("prints 25 000 siblings exactly as dtc does, and in less time", () => {
    const blob = wideDtb(25_000);
    const p = file("wide.dtb", blob);
    const t0 = performance.now();
    const dtc = runDtc(dir, [p]).get(p)!;
    const dtcMs = performance.now() - t0;
    let ours = "";
    const ms = elapsed(() => {
      ours = toDts(blob);
    });
    expect(ours).toBe(dtc.stdout);
    expect(ms).toBeLessThan(2 * dtcMs + 1000);
  });

  it("prints 40 000 properties of one node in seconds (4 000 of them byte for byte as dtc)", () => {
    const small = manyPropsDtb(4_000);
    const p = file("props.dtb", small);
    expect(toDts(small)).toBe(runDtc(dir, [p]).get(p)!.stdout);
    const ms = elapsed(() => {
      expect(toDts(manyPropsDtb(40_000)).length).toBeGreaterThan(40_000 * 10);
    });
    expect(ms).toBeLessThan(5000);
  });

  it("refuses 25 000 siblings of one name quickly, counting dtc's one error per pair", () => {
    const w = new DtbWriter().begin("");
    for (let i = 0; i < 25_000; i++) w.begin("same").end();
    const blob = w.end().finish();
    let err: unknown;
    const ms = elapsed(() => {
      try {
        toDts(blob);
      } catch (e) {
        err = e;
      }
    });
    expect(err).toBeInstanceOf(DtsError);
    // 25 000 * 24 999 / 2 pairs: 20 shown, the rest counted.
    expect((err as DtsError).message).toContain(`and ${(25_000 * 24_999) / 2 - 20} more`);
    expect(ms).toBeLessThan(3000);
  });

  it("resolves the interrupt parent of 20 000 nested nodes without climbing from each", () => {
    const blob = deepDtb(20_000, "n", [
      ["interrupts", u32s(1)],
      ["x", str("y")],
    ]);
    const ms = elapsed(() => first(dtsChunks(blob)));
    expect(ms).toBeLessThan(3000);
  });
});
