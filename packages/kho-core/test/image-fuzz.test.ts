import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isKhoError } from "../src/errors.js";
import { decodeImage, encodeImage } from "../src/image/format.js";
import { imageInfo } from "../src/image/info.js";
import { kexecToImage } from "../src/image/machine.js";
import { Machine } from "../src/kexec/machine.js";

/*
 * Issue 13, item 8 for ELF images: random bytes and mutations of a valid
 * image (flip, 64-bit field overwrite, truncate, duplicate) through
 * decodeImage and imageInfo. Only KhoError may escape, and nothing is sized
 * by a field before it is checked, so each input is done in bounded time.
 */

function validImage(): Uint8Array {
  const machine = new Machine({ pageSize: "4KiB", ram: [{ start: 0, size: "1GiB", nid: 0 }] });
  const k = machine.boot({ release: "7.2.0-rc1-a", arch: "x86" });
  const pa = k.alloc.alloc(0);
  machine.mem.write(pa, Uint8Array.of(1, 2, 3));
  k.out!.preserveFolio({ pa, order: 0 });
  return encodeImage(kexecToImage(machine, { release: "7.2.0-rc1-b", arch: "x86" }).image);
}

function decodeAll(b: Uint8Array): number {
  const t0 = performance.now();
  try {
    imageInfo(decodeImage(b));
  } catch (e) {
    if (!isKhoError(e)) throw e;
  }
  return performance.now() - t0;
}

/** Offsets of the header and program-header fields, where a hostile count or size lives. */
const HEADER_BYTES = 64 + 16 * 56;

describe("issue 13: fast-check over the ELF image decoder", () => {
  const good = validImage();

  it("random bytes behind a valid ELF identity: only KhoError escapes, quickly", () => {
    expect(imageInfo(decodeImage(good)).loads.length).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 4096 }), (tail) => {
        const b = new Uint8Array(16 + tail.length);
        b.set(good.subarray(0, 16));
        b.set(tail, 16);
        expect(decodeAll(b)).toBeLessThan(200);
      }),
      { numRuns: 300, seed: 0xe1f },
    );
  });

  it("mutated images (flip, u64 overwrite in the headers, truncate, duplicate): only KhoError escapes", () => {
    const edit = fc.oneof(
      fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({
        kind: fc.constant("u64" as const),
        at: fc.nat({ max: HEADER_BYTES }),
        value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      }),
      fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat(), len: fc.nat({ max: 256 }) }),
    );
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        let b = good;
        for (const e of edits) {
          const at = e.at % Math.max(1, b.length);
          if (e.kind === "flip") {
            b = b.slice();
            b[at]! ^= 1 << e.bit;
          } else if (e.kind === "u64") {
            b = b.slice();
            const w = at & ~7;
            if (w + 8 <= b.length) new DataView(b.buffer).setBigUint64(w, e.value, true);
          } else if (e.kind === "truncate") b = b.slice(0, at);
          else {
            const part = b.subarray(at, at + e.len);
            const c = new Uint8Array(b.length + part.length);
            c.set(b.subarray(0, at + part.length));
            c.set(part, at + part.length);
            c.set(b.subarray(at + part.length), at + 2 * part.length);
            b = c;
          }
        }
        expect(decodeAll(b)).toBeLessThan(1000);
      }),
      { numRuns: 300, seed: 0xe1f2 },
    );
  });
});
