import { runReference } from "../../src/bench/reference.js";
import type { CountSpec } from "../../src/radix/index.js";

export { referenceBinary, runReference } from "../../src/bench/reference.js";

/** Command-line options of `radix_ref keys|count` for a spec. */
export function referenceArgs(spec: CountSpec): string[] {
  return [
    "--page-shift",
    String(spec.pageShift),
    "--pages",
    String(spec.pages),
    "--order",
    String(spec.order),
    "--pattern",
    spec.pattern,
    "--seed",
    spec.seed.toString(),
    "--delete-every",
    String(spec.deleteEvery),
  ];
}

/** The reference's `count --hash` output line (without the newline). */
export function referenceCountLine(spec: CountSpec): string {
  return runReference(["count", ...referenceArgs(spec), "--hash"]).trimEnd();
}

/** The reference's `keys` stream as [phys, order] pairs. */
export function referenceKeys(spec: CountSpec): [bigint, number][] {
  return runReference(["keys", ...referenceArgs(spec)])
    .trimEnd()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [phys, order] = l.split(" ");
      return [BigInt(phys!), Number(order)];
    });
}
