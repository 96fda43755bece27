/**
 * `npm run bench` cases of hugetlb-sample: 256 GiB of guest memory in 2 MiB
 * folios (131 072 keys) on a 1 TiB machine, preserved, kexec'd, restored
 * and verified; `--quick` moves 8 GiB. One row per phase and the total, in
 * milliseconds; the runner adds the peak RSS of the process that ran it.
 * There is no independent implementation to compare with (`ref` is null);
 * the check is that the host verified every guest byte after the jump.
 */
import { type BenchCase, benchRow } from "@khosim/kho-core/bench";
import { GUEST_256G, runScale } from "./scale.js";

const QUICK = { ...GUEST_256G, nodeRam: "32GiB", folios: 4096 };

export const benchCases: readonly BenchCase[] = [
  {
    name: "hugetlb-sample live update",
    run(ctx) {
      const spec = ctx.quick ? QUICK : GUEST_256G;
      const r = runScale(spec);
      const what = `hugetlb-sample ${(r.guestBytes / 2 ** 30).toFixed(0)} GiB in ${r.folios} folios`;
      const check =
        r.hostVerifiedBytes >= r.guestBytes ? "ok" : `host verified ${r.hostVerifiedBytes} of ${r.guestBytes} bytes`;
      const total = r.ms.allocate + r.ms.fill + r.ms.kexec + r.ms.verify;
      const phases: [string, number][] = [...Object.entries(r.ms), ["total", total]];
      return phases.map(([phase, ms]) => benchRow({ case: `${what}: ${phase}`, unit: "ms", ts: ms, ref: null, check }));
    },
  },
];
