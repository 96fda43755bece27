import { hex, type JsonValue } from "@khosim/kho-core";
import { LUO_ABI_COMPATIBLE, luo_ser } from "./abi/index.js";

/** What inspection shows of one blob (the shape of the plugin contract's SubtreeDescription). */
export interface LuoBlobDescription {
  readonly fields: JsonValue;
  readonly problems: readonly string[];
  readonly unavailable: readonly string[];
}

/**
 * `struct luo_ser` as `kho debugfs decode` should show it: the fields, what
 * an rc1 kernel would panic on (the checks of luo_early_startup, in its
 * order), and what a copy of the blob alone cannot show.
 */
export function describeLuoSer(blob: Uint8Array): LuoBlobDescription {
  if (blob.length < luo_ser.size)
    return {
      fields: null,
      problems: [`LUO state is too small (${blob.length} < ${luo_ser.size}): the next kernel panics`],
      unavailable: [],
    };
  const view = new DataView(blob.buffer, blob.byteOffset, luo_ser.size);
  const u64 = (f: "liveupdate_num" | "sessions_pa" | "flbs_pa") => view.getBigUint64(luo_ser.offsetOf(f), true);
  const raw = blob.subarray(0, luo_ser.fields.compatible.size);
  const end = raw.indexOf(0);
  const compatible = Array.from(raw.subarray(0, end < 0 ? raw.length : end), (b) =>
    b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`,
  ).join("");
  const problems =
    compatible === LUO_ABI_COMPATIBLE && end === LUO_ABI_COMPATIBLE.length
      ? []
      : [`LUO state is incompatible with '${LUO_ABI_COMPATIBLE}' (it says "${compatible}"): the next kernel panics`];
  const sessions = u64("sessions_pa");
  return {
    fields: {
      compatible,
      liveupdate_num: u64("liveupdate_num").toString(),
      sessions_pa: hex(sessions),
      flbs_pa: hex(u64("flbs_pa")),
    },
    problems,
    unavailable: [
      ...(sessions ? [`session blocks at ${hex(sessions)}: not in the blob`] : []),
      `FLB page at ${hex(u64("flbs_pa"))}: not in the blob`,
    ],
  };
}
