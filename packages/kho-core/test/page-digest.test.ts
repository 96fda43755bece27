import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PAGE_DIGEST_WORDS, pageDigestInto } from "../src/host/page-digest.js";

const digestOf = (page: Uint8Array): number[] => {
  const out = new Uint32Array(PAGE_DIGEST_WORDS);
  pageDigestInto(page, out, 0);
  return [...out];
};

describe("the host's page digest", () => {
  it("equal pages have equal digests, wherever their bytes live", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4096, maxLength: 4096 }), (bytes) => {
        const slab = new Uint8Array(3 * 4096);
        slab.set(bytes, 4096);
        expect(digestOf(slab.subarray(4096, 8192))).toEqual(digestOf(bytes));
      }),
      { numRuns: 50 },
    );
  });

  it("a change of any one word, even one bit, always changes the digest", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 4096, maxLength: 4096 }),
        fc.nat(4095),
        fc.integer({ min: 1, max: 255 }),
        (bytes, at, xor) => {
          const changed = bytes.slice();
          changed[at]! ^= xor;
          expect(digestOf(changed)).not.toEqual(digestOf(bytes));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("swapping two words, moving a word, or a zero page against a page of one byte are told apart", () => {
    const page = new Uint8Array(16384);
    for (let i = 0; i < page.length; i++) page[i] = (i * 131) & 0xff;
    const swapped = page.slice();
    swapped.set(page.subarray(0, 4), 8);
    swapped.set(page.subarray(8, 12), 0);
    expect(digestOf(swapped)).not.toEqual(digestOf(page));
    const shifted = new Uint8Array(16384);
    shifted.set(page.subarray(0, 16380), 4);
    expect(digestOf(shifted)).not.toEqual(digestOf(page));
    const one = new Uint8Array(16384);
    one[16383] = 1;
    expect(digestOf(one)).not.toEqual(digestOf(new Uint8Array(16384)));
  });
});
