import { mutant, Rng } from "./mutate.js";
import type { FuzzTarget } from "./targets.js";

/**
 * Input `index` of a campaign with `seed` on `target`: a function of the
 * three alone, so the supervisor regenerates the input a worker was on
 * when it hung or ran out of memory. Every 16th input is random bytes.
 */
export function inputAt(target: FuzzTarget, seed: number, index: number): Uint8Array {
  const r = new Rng(Math.imul(seed ^ 0x5bd1e995, 0x01000193) ^ Math.imul(index + 1, 0x9e3779b1));
  if (index % 16 === 15) return Uint8Array.from({ length: r.below(512) }, () => r.below(256));
  return mutant(target.seeds(), r);
}
