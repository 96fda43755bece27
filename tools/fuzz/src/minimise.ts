/**
 * Shrinks a failing input while `fails` still holds: first drops chunks
 * (halves, quarters, ... single bytes), then sets bytes to zero, within
 * `budget` tries, so a reproducer shows what matters. A target whose input
 * has a fixed place in memory still gets a shorter input: the rest of its
 * region keeps the sample's bytes.
 */
export function minimise(input: Uint8Array, fails: (b: Uint8Array) => boolean, budget = 2000): Uint8Array {
  let best = input;
  let tries = 0;
  const attempt = (b: Uint8Array): boolean => {
    if (tries >= budget) return false;
    tries++;
    if (!fails(b)) return false;
    best = b;
    return true;
  };
  for (let chunk = best.length >> 1; chunk >= 1 && tries < budget; chunk >>= 1)
    for (let at = best.length - chunk; at >= 0 && tries < budget; at -= chunk) {
      const cut = new Uint8Array(best.length - chunk);
      cut.set(best.subarray(0, at));
      cut.set(best.subarray(at + chunk), at);
      attempt(cut);
    }
  for (let i = 0; i < best.length && tries < budget; i++) {
    if (best[i] === 0) continue;
    const zeroed = best.slice();
    zeroed[i] = 0;
    attempt(zeroed);
  }
  return best;
}
