/**
 * The digest the host keeps of each preserved page that holds data, to
 * tell after the kexec whether it changed. It only has to detect a change,
 * not resist an adversary, so it is two 32-bit multiplicative lanes over
 * the page's words (even words in one, odd in the other) instead of a
 * cryptographic hash, at about a third of SHA-1's time per page: one
 * step per word is `lane = rotl(imul(lane ^ word, odd), r)`, a bijection
 * of the lane for a fixed word, so a change confined to one word always
 * changes the digest; changes to several words of one lane go unnoticed
 * with probability about 2^-32.
 */

/** Words of a page's digest (Uint32Array slots per page). */
export const PAGE_DIGEST_WORDS = 2;

/** Writes the digest of `page` (a whole page, 4-byte aligned) into out[at], out[at + 1]. */
export function pageDigestInto(page: Uint8Array, out: Uint32Array, at: number): void {
  const w = new Int32Array(page.buffer, page.byteOffset, page.byteLength >>> 2);
  let even = 0x243f6a88;
  let odd = 0x13198a2e;
  for (let i = 0; i < w.length; i += 2) {
    even = Math.imul(even ^ w[i]!, 0x9e3779b1);
    even = (even << 13) | (even >>> 19);
    odd = Math.imul(odd ^ w[i + 1]!, 0x85ebca77);
    odd = (odd << 17) | (odd >>> 15);
  }
  out[at] = even;
  out[at + 1] = odd;
}
