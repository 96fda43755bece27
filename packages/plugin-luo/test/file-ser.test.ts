import { PhysMem } from "@khosim/kho-core/mem";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LIVEUPDATE_HNDL_COMPAT_LENGTH, luo_file_ser } from "../src/abi/index.js";
import { cStringBytes, readCString, utf8Length, writeCString } from "../src/env.js";
import { readFileEntry, writeFileEntry } from "../src/luo_file_ser.js";

const PAGE = 4096;
const mem = () => new PhysMem(PAGE, [{ start: 0, size: 1 << 22, nid: 0 }]);

const compatible = fc.stringMatching(/^[a-z0-9,-]{1,47}$/);
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
/** Slots of page-aligned blocks (in one page) and of misaligned ones (possibly across a page boundary). */
const slotPa = fc.oneof(
  fc.integer({ min: PAGE, max: 512 * PAGE }),
  fc.integer({ min: 2, max: 512 }).chain((p) => fc.integer({ min: p * PAGE - 63, max: p * PAGE - 1 })),
);

describe("struct luo_file_ser written and read in place", () => {
  it("writeFileEntry leaves the bytes the ABI codec encodes, in a page or across two", () => {
    fc.assert(
      fc.property(slotPa, compatible, u64, u64, (pa, compat, data, token) => {
        const m = mem();
        writeFileEntry(m, pa, cStringBytes(compat, LIVEUPDATE_HNDL_COMPAT_LENGTH), data, token);
        expect(m.read(pa, luo_file_ser.size)).toEqual(luo_file_ser.encode({ compatible: compat, data, token }));
      }),
    );
  });

  it("readFileEntry decodes what the ABI codec encodes, whichever compatible the entry before had", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(slotPa, compatible, u64, u64), { minLength: 1, maxLength: 8 }), (entries) => {
        for (const [pa, compat, data, token] of entries) {
          const m = mem();
          m.write(pa, luo_file_ser.encode({ compatible: compat, data, token }));
          expect(readFileEntry(m, pa)).toEqual({ at: pa, compatible: compat, data, token });
        }
      }),
    );
  });

  it("consecutive entries whose compatibles are prefixes of each other each read as their own", () => {
    const m = mem();
    for (const compat of ["memfd-v2", "memfd-v20", "memfd-v2", "memfd", "", "x".repeat(47), "memfd-v2"]) {
      m.write(PAGE, luo_file_ser.encode({ compatible: compat, data: 1n, token: 2n }));
      expect(readFileEntry(m, PAGE).compatible).toBe(compat);
    }
    m.write(PAGE, new Uint8Array(LIVEUPDATE_HNDL_COMPAT_LENGTH).fill(0x78));
    expect(readFileEntry(m, PAGE).compatible).toBe("x".repeat(LIVEUPDATE_HNDL_COMPAT_LENGTH));
  });

  it("a compatible without a NUL in its 48 bytes is read whole, as strncmp over the field sees it", () => {
    const m = mem();
    m.write(PAGE, new Uint8Array(LIVEUPDATE_HNDL_COMPAT_LENGTH).fill(0x61));
    expect(readFileEntry(m, PAGE).compatible).toBe("a".repeat(LIVEUPDATE_HNDL_COMPAT_LENGTH));
  });
});

describe("C strings through one scratch buffer", () => {
  it("utf8Length is the UTF-8 length TextEncoder gives, lone surrogates included", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (s) => {
        expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
      }),
    );
  });

  it("writeCString stores what strscpy would: size - 1 bytes cut between bytes, a NUL, later bytes untouched", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 80 }),
        fc.integer({ min: 1, max: 64 }),
        slotPa,
        (s, size, pa) => {
          const m = mem();
          m.write(pa, new Uint8Array(size + 8).fill(0xee));
          writeCString(m, pa, size, s);
          const bytes = new TextEncoder().encode(s).subarray(0, size - 1);
          const want = new Uint8Array(size + 8).fill(0xee);
          want.set(bytes);
          want[bytes.length] = 0;
          expect(m.read(pa, size + 8)).toEqual(want);
          expect(cStringBytes(s, size)).toEqual(want.subarray(0, bytes.length + 1));
        },
      ),
    );
  });

  it("readCString reads up to the NUL or `max` bytes, in a page or across two", () => {
    fc.assert(
      fc.property(compatible, slotPa, (s, pa) => {
        const m = mem();
        writeCString(m, pa, 64, s);
        expect(readCString(m, pa, 63)).toBe(s);
        expect(readCString(m, pa, 3)).toBe(s.slice(0, 3));
      }),
    );
  });
});
