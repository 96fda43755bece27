/**
 * `npm run bench` cases of LUO: 100 000 sessions of 10 files each (1M
 * files) through a full live update; `--quick` moves 2000 x 10. One row per
 * phase in milliseconds, and the total of serialise + restore (kexec,
 * retrieve, finish): creating the sessions and preserving the files is
 * the workload's own setup, reported but not in the total. There is no
 * independent implementation (`ref` is null); the check is that every
 * session and file came back with its token and value, and finished.
 */
import { type BenchCase, type BenchContext, type BenchRow, benchRow, benchTimer } from "@khosim/kho-core/bench";
import { type LuoScaleCase, runLuoScale } from "./sessions.js";

const FULL: LuoScaleCase = { sessions: 100_000, filesPerSession: 10 };
const QUICK: LuoScaleCase = { sessions: 2000, filesPerSession: 10 };

function luoRows(ctx: BenchContext): BenchRow[] {
  const c = ctx.quick ? QUICK : FULL;
  const best = { create: Infinity, kexec: Infinity, retrieve: Infinity, finish: Infinity, total: Infinity };
  let check = "ok";
  // A full round builds a 6 GiB machine with 1M files: two rounds at most.
  for (let r = 0; r < Math.min(ctx.rounds, 2); r++) {
    const run = runLuoScale(c, benchTimer(ctx.clock));
    if (run.check !== "ok") check = run.check;
    best.create = Math.min(best.create, run.createNs);
    best.kexec = Math.min(best.kexec, run.kexecNs);
    best.retrieve = Math.min(best.retrieve, run.retrieveNs);
    best.finish = Math.min(best.finish, run.finishNs);
    best.total = Math.min(best.total, run.kexecNs + run.retrieveNs + run.finishNs);
  }
  const what = `luo ${c.sessions} sessions x ${c.filesPerSession} files`;
  const phases: [string, number][] = [
    ["create+preserve (not in total)", best.create],
    ["kexec (serialise, boot, restore chains)", best.kexec],
    ["retrieve sessions and files", best.retrieve],
    ["finish", best.finish],
    ["total serialise+restore", best.total],
  ];
  return phases.map(([phase, ns]) =>
    benchRow({ case: `${what}: ${phase}`, unit: "ms", ts: ns / 1e6, ref: null, check }),
  );
}

export const benchCases: readonly BenchCase[] = [{ name: "luo sessions and files", run: luoRows }];
