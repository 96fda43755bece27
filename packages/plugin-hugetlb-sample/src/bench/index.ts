/**
 * `npm run bench` case of hugetlb-sample and the core: the live update of
 * a 1 TiB machine (4 KiB pages) holding 256 GiB of guest memory in 2 MiB
 * folios (131 072 keys) and 1M order-0 pages (the page-sample workload),
 * preserved, kexec'd, restored and verified; `--quick` moves 8 GiB and
 * 16 384 pages. One row per phase and the live update's total, in
 * milliseconds of the run's clock (CPU time by default: the machine is
 * shared; `--clock wall` for the target's wall time), from the round with
 * the best total; the runner adds the peak RSS of the process that ran
 * it (a full collection runs between rounds). There is no independent implementation to
 * compare with (`ref` is null); the check is that every folio and page
 * came back with its contents, and that the host verified every guest byte.
 */
import { type BenchCase, benchRow, benchTimer, collectGarbage } from "@khosim/kho-core/bench";
import { LIVE_UPDATE_1T, runScale, type ScaleResult } from "./scale.js";

const QUICK = { ...LIVE_UPDATE_1T, nodeRam: "32GiB", folios: 4096, smallPages: 16384 };

export const benchCases: readonly BenchCase[] = [
  {
    name: "hugetlb-sample live update",
    run(ctx) {
      const spec = ctx.quick ? QUICK : LIVE_UPDATE_1T;
      const timer = benchTimer(ctx.clock);
      const liveUpdate = (x: ScaleResult): number =>
        x.ms.prepare + x.ms.handover + x.ms.boot + x.ms.restore + x.ms.verify;
      let r: ScaleResult | null = null;
      for (let round = 0; round < ctx.rounds; round++) {
        collectGarbage();
        const got = runScale(spec, () => timer() / 1e6);
        if (r === null || liveUpdate(got) < liveUpdate(r)) r = got;
      }
      if (r === null) throw new Error("no round ran");
      const what =
        `live update ${spec === QUICK ? "64 GiB" : "1 TiB"}: ` +
        `${(r.guestBytes / 2 ** 30).toFixed(0)} GiB in ${r.folios} folios + ${r.smallPages} order-0 pages`;
      const check =
        r.hostVerifiedBytes >= r.guestBytes ? "ok" : `host verified ${r.hostVerifiedBytes} of ${r.guestBytes} bytes`;
      const { allocate, fill, ...update } = r.ms;
      const total = liveUpdate(r);
      const phases: [string, number][] = [
        ["setup: allocate", allocate],
        ["setup: fill", fill],
        ...Object.entries(update),
        ["total", total],
      ];
      return phases.map(([phase, ms]) =>
        benchRow({ case: `${what}: ${phase}`, unit: "ms", ts: Math.round(ms), ref: null, check }),
      );
    },
  },
];
