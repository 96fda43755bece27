import { hex } from "@khosim/kho-core";
import type { LuoCore } from "./luo_core.js";

/**
 * What became of one handed-over file: `restored` (retrieved by
 * userspace), `pending` (not retrieved yet), `lost` (its retrieve failed,
 * or the kernel moved on without it), `refused` (this kernel could not
 * take the session it is in).
 */
export type LuoOutcome = "restored" | "pending" | "lost" | "refused";

export interface LuoFileReport {
  readonly token: string;
  /** Compatible string of the file handler that owned the file. */
  readonly handler: string;
  readonly status: LuoOutcome;
  readonly reason?: string;
}

export interface LuoSessionReport {
  readonly name: string;
  readonly status: LuoOutcome;
  readonly finished: boolean;
  readonly reason?: string;
  readonly files: readonly LuoFileReport[];
}

/** LUO's side of one transition, as the kernel that received the handover sees it. */
export interface LuoHandoverReport {
  /** The incoming liveupdate_num (0: nothing was handed over). */
  readonly liveupdateNum: string;
  /** True once the first open of /dev/liveupdate deserialised the incoming sessions. */
  readonly deserialized: boolean;
  /** Why deserialisation failed (every open then gets EIO). */
  readonly error?: string;
  readonly sessions: readonly LuoSessionReport[];
}

/**
 * The report of what the previous kernel's sessions became in this one.
 * `final` is the view at the next kexec: whatever is still pending is
 * lost, because this kernel hands over only the sessions it created.
 */
export function luoHandoverReport(core: LuoCore, final = false): LuoHandoverReport {
  const { done, error } = core.sessions.deserialization;
  const late = "not finished before the next kexec";
  const sessions = core.sessions.handedOver.map((s): LuoSessionReport => {
    const files = s.files.handedOver.map((f): LuoFileReport => {
      const base = { token: hex(f.token), handler: f.fh.compatible };
      if (error) return { ...base, status: "refused", reason: error.message };
      if (f.retrieveError) return { ...base, status: "lost", reason: f.retrieveError.message };
      if (f.retrieveStatus === 1) return { ...base, status: "restored" };
      if (s.finished) return { ...base, status: "lost", reason: "finished without being retrieved" };
      return final ? { ...base, status: "lost", reason: late } : { ...base, status: "pending" };
    });
    const base = { name: s.name, finished: s.finished, files };
    if (error) return { ...base, status: "refused", reason: error.message };
    if (s.retrieved) return { ...base, status: "restored" };
    return final ? { ...base, status: "lost", reason: late } : { ...base, status: "pending" };
  });
  return {
    liveupdateNum: String(core.liveupdateNum),
    deserialized: done,
    ...(error ? { error: error.message } : {}),
    sessions,
  };
}
