import { hex, KhoError } from "@khosim/kho-core";
import { checkFull, findProp, nodeCheckCompatible, subnodeOffset } from "@khosim/kho-core/fdt";
import {
  LIVEUPDATE_SESSION_NAME_LENGTH,
  LUO_FDT_LIVEUPDATE_NUM,
  LUO_FDT_SESSION_COMPATIBLE,
  LUO_FDT_SESSION_HEADER,
  LUO_FDT_SESSION_NODE_NAME,
  luo_file_ser,
  luo_file_set_ser,
  luo_session_header_ser,
  luo_session_ser,
} from "./abi/index.js";
import { type LuoEnv, readCString } from "./env.js";
import { readFileEntry } from "./luo_file_ser.js";
import type { HandedOverSession } from "./luo_session.js";

/** What the luo-v1 reader found: the live-update number and the sessions with their files. */
export interface LuoV1State {
  readonly liveupdateNum: bigint;
  readonly sessions: readonly HandedOverSession[];
}

function u64Prop(fdt: Uint8Array, node: number, name: string): bigint {
  const p = findProp(fdt, node, name);
  if (p?.value.length !== 8) throw new KhoError("EINVAL", `property ${name} is not 8 bytes`, name);
  return new DataView(p.value.buffer, p.value.byteOffset, 8).getBigUint64(0, true);
}

/**
 * A reader for the FDT form of the first LUO ABI, which no v7.2-rc1 kernel
 * has: the blob is checked as a whole FDT, then `liveupdate-number`, then
 * the `luo-session` node's header and contiguous session array, each
 * session's contiguous file array. Every count is bounded by the pages the
 * arrays could occupy before anything is read from them.
 */
export function readLuoV1(env: LuoEnv, phys: number, size: number): LuoV1State {
  const fdt = env.mem.read(phys, size);
  checkFull(fdt, size);
  const liveupdateNum = u64Prop(fdt, 0, LUO_FDT_LIVEUPDATE_NUM);
  const node = subnodeOffset(fdt, 0, LUO_FDT_SESSION_NODE_NAME);
  if (!nodeCheckCompatible(fdt, node, LUO_FDT_SESSION_COMPATIBLE))
    throw new KhoError("EINVAL", `${LUO_FDT_SESSION_NODE_NAME} is not ${LUO_FDT_SESSION_COMPATIBLE}`);
  const headerPa = Number(u64Prop(fdt, node, LUO_FDT_SESSION_HEADER));
  const mem = env.mem;
  const limit = BigInt(Math.floor(mem.pageSize / luo_session_ser.size) * 1024);
  const count = luo_session_header_ser.readAt(mem, headerPa).count;
  if (count > limit) throw new KhoError("E2BIG", `${count} sessions in a luo-v1 blob`, hex(headerPa));
  const sessions: HandedOverSession[] = [];
  for (let i = 0; i < Number(count); i++) {
    const at = headerPa + luo_session_header_ser.size + i * luo_session_ser.size;
    const fs = luo_file_set_ser.readAt(mem, at + luo_session_ser.offsetOf("file_set_ser"));
    if (fs.count > limit) throw new KhoError("E2BIG", `${fs.count} files in a luo-v1 session`, hex(at));
    const files = Array.from({ length: Number(fs.count) }, (_, k) =>
      readFileEntry(mem, Number(fs.files) + k * luo_file_ser.size),
    );
    sessions.push({ name: readCString(mem, at, LIVEUPDATE_SESSION_NAME_LENGTH - 1), files });
  }
  return { liveupdateNum, sessions };
}
