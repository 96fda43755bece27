import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DtbWriter, deepDtb, str, u32s, wideDtb } from "../src/bench/fdt-shapes.js";
import { isKhoError } from "../src/errors.js";
import { canonChunks } from "../src/fdt/canon.js";
import { checkFull } from "../src/fdt/check.js";
import { dtsChunks } from "../src/fdt/dts.js";
import { parseFdt } from "../src/fdt/parse.js";

/*
 * Issue 13, item 8: random bytes and structured mutations of valid blobs
 * (flip, truncate, splice, duplicate, deepen, widen) through every DTB
 * reader and printer. Only KhoError may escape, and each input is done
 * within a time bound.
 */

function sample(): Uint8Array {
  const w = new DtbWriter().begin("");
  w.prop("compatible", str("khosim,fuzz")).prop("#address-cells", u32s(2));
  w.begin("memory@0")
    .prop("reg", u32s(0, 0, 0, 0x1000))
    .prop("name", str("memory"))
    .end();
  w.begin("intc").prop("interrupt-controller", new Uint8Array(0)).prop("#interrupt-cells", u32s(1));
  w.prop("phandle", u32s(1)).end();
  w.begin("dev@1")
    .prop("interrupts", u32s(5))
    .prop("interrupt-parent", u32s(1))
    .prop("data", Uint8Array.of(1, 2, 3));
  w.end();
  return w.end().finish();
}

const BASES = [sample(), deepDtb(40, "n", [["x", u32s(7)]]), wideDtb(30)];

/** Runs every reader; returns normally or throws a KhoError, and says how long it took. */
function readAll(blob: Uint8Array): number {
  const t0 = performance.now();
  for (const run of [
    () => checkFull(blob),
    () => parseFdt(blob),
    () => {
      for (const _ of dtsChunks(blob));
    },
    () => {
      for (const _ of canonChunks(blob));
    },
  ]) {
    try {
      run();
    } catch (e) {
      if (!isKhoError(e)) throw e;
    }
  }
  return performance.now() - t0;
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("word" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 0xffffffff }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("splice" as const), at: fc.nat(), from: fc.nat(), len: fc.nat({ max: 64 }) }),
  fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat(), len: fc.nat({ max: 64 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function apply(b: Uint8Array, m: Mutation): Uint8Array {
  const at = m.at % Math.max(1, b.length);
  switch (m.kind) {
    case "flip": {
      const c = b.slice();
      c[at]! ^= 1 << m.bit;
      return c;
    }
    case "word": {
      // Aligned words hit lengths, offsets and tags, where the interesting failures are.
      const c = b.slice();
      const w = at & ~3;
      if (w + 4 <= c.length) new DataView(c.buffer).setUint32(w, m.value);
      return c;
    }
    case "truncate":
      return b.slice(0, at);
    case "splice": {
      const from = m.from % Math.max(1, b.length);
      const c = b.slice();
      c.set(b.subarray(from, Math.min(b.length, from + m.len)).subarray(0, c.length - at), at);
      return c;
    }
    case "duplicate": {
      const part = b.subarray(at, Math.min(b.length, at + m.len));
      const c = new Uint8Array(b.length + part.length);
      c.set(b.subarray(0, at + part.length));
      c.set(part, at + part.length);
      c.set(b.subarray(at + part.length), at + 2 * part.length);
      return c;
    }
  }
}

describe("issue 13: fast-check over the DTB readers and printers", () => {
  it("random bytes: only KhoError escapes, each input within 200 ms", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 512 }), (b) => {
        expect(readAll(b)).toBeLessThan(200);
      }),
      { numRuns: 300, seed: 0x13 },
    );
  });

  it("mutated valid blobs (flip, word, truncate, splice, duplicate): only KhoError escapes, in bounded time", () => {
    fc.assert(
      fc.property(fc.constantFrom(...BASES), fc.array(mutation, { minLength: 1, maxLength: 4 }), (base, ms) => {
        expect(readAll(ms.reduce(apply, base))).toBeLessThan(500);
      }),
      { numRuns: 600, seed: 0x1313 },
    );
  });

  it("deepened (to 4 000 levels: the text grows with depth squared) and widened blobs read in bounded time", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4_000 }), fc.integer({ min: 1, max: 20_000 }), (d, w) => {
        expect(readAll(deepDtb(d))).toBeLessThan(5000);
        expect(readAll(wideDtb(w))).toBeLessThan(5000);
      }),
      { numRuns: 6, seed: 0x131313 },
    );
  });
});
