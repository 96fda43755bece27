/**
 * `struct luo_file_ser` in its block slot, read and written in place:
 * every preserved file writes one at each kexec and the next kernel reads
 * it back, so a million files cannot afford a copy and a codec per field.
 */
import type { PhysMem } from "@khosim/kho-core";
import { slotPage } from "@khosim/kho-core/block";
import { LIVEUPDATE_HNDL_COMPAT_LENGTH, luo_file_ser } from "./abi/index.js";

const SIZE = luo_file_ser.size;
const COMPAT_AT = luo_file_ser.offsetOf("compatible");
const DATA_AT = luo_file_ser.offsetOf("data");
const TOKEN_AT = luo_file_ser.offsetOf("token");

/** A `struct luo_file_ser` as the next kernel reads it. */
export interface LuoFileEntry {
  readonly at: number;
  readonly compatible: string;
  readonly data: bigint;
  readonly token: bigint;
}

const decoder = new TextDecoder();
/** The last compatible decoded and its bytes: the files of a session mostly share one handler. */
let lastCompat = { raw: new Uint8Array(0), text: "" };

/**
 * The compatible field of the entry at `base` of `bytes` as a string: the
 * bytes up to the first NUL, all LIVEUPDATE_HNDL_COMPAT_LENGTH when there
 * is none (strncmp's view).
 */
function compatibleOf(bytes: Uint8Array, base: number): string {
  const at = base + COMPAT_AT;
  if (holdsCompat(bytes, at, lastCompat.raw)) return lastCompat.text;
  const field = bytes.subarray(at, at + LIVEUPDATE_HNDL_COMPAT_LENGTH);
  const end = field.indexOf(0);
  const raw = field.subarray(0, end < 0 ? field.length : end);
  lastCompat = { raw: raw.slice(), text: decoder.decode(raw) };
  return lastCompat.text;
}

/** Whether the field at `at` holds exactly `raw` (which has no NUL), compared in place: no view per entry. */
function holdsCompat(bytes: Uint8Array, at: number, raw: Uint8Array): boolean {
  for (let i = 0; i < raw.length; i++) if (bytes[at + i] !== raw[i]) return false;
  return raw.length === LIVEUPDATE_HNDL_COMPAT_LENGTH || bytes[at + raw.length] === 0;
}

/** The little-endian u32 at `off` of `bytes`. */
function u32(bytes: Uint8Array, off: number): number {
  return (bytes[off]! | (bytes[off + 1]! << 8) | (bytes[off + 2]! << 16) | (bytes[off + 3]! << 24)) >>> 0;
}

/**
 * The entry at `at` without a bigint or an object: `words` receives the
 * token and serialized_data as u32 halves (token low, token high, data low,
 * data high) and the compatible is returned. A million handed-over files
 * are read this way and kept in columns until one is retrieved.
 */
export function readFileEntryWords(mem: PhysMem, at: number, words: Uint32Array): string {
  // In the slot's page (always, for blocks a kernel made), indexed from the slot: no view per entry.
  // A slot across two pages is read from a copy.
  const page = slotPage(mem, at, SIZE);
  const bytes = page ?? mem.read(at, SIZE);
  const base = page ? at % mem.pageSize : 0;
  words[0] = u32(bytes, base + TOKEN_AT);
  words[1] = u32(bytes, base + TOKEN_AT + 4);
  words[2] = u32(bytes, base + DATA_AT);
  words[3] = u32(bytes, base + DATA_AT + 4);
  return compatibleOf(bytes, base);
}

/** Two u32 halves as the u64 they make. */
export function u64Of(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}

const entryWords = new Uint32Array(4);

export function readFileEntry(mem: PhysMem, at: number): LuoFileEntry {
  const compatible = readFileEntryWords(mem, at, entryWords);
  const [tokenLo, tokenHi, dataLo, dataHi] = entryWords;
  return { at, compatible, data: u64Of(dataLo!, dataHi!), token: u64Of(tokenLo!, tokenHi!) };
}

const u64Bytes = new Uint8Array(8);
const u64View = new DataView(u64Bytes.buffer);

/**
 * Fills the slot at `at`: the handler's compatible as strscpy stores it
 * (`compat`, NUL included; later bytes of the field stay as they are),
 * serialized_data and the token.
 */
export function writeFileEntry(mem: PhysMem, at: number, compat: Uint8Array, data: bigint, token: bigint): void {
  const page = slotPage(mem, at, SIZE);
  const bytes = page ?? mem.read(at, SIZE);
  const base = page ? at % mem.pageSize : 0;
  bytes.set(compat, base + COMPAT_AT);
  // Through one scratch u64 and its view: a DataView per entry is a million objects per kexec.
  u64View.setBigUint64(0, data, true);
  bytes.set(u64Bytes, base + DATA_AT);
  u64View.setBigUint64(0, token, true);
  bytes.set(u64Bytes, base + TOKEN_AT);
  if (!page) mem.write(at, bytes);
}
