import { HDR } from "./constants.js";

/** The ten header words of a DTB (v17), as numbers. */
export interface FdtHeader {
  magic: number;
  totalsize: number;
  off_dt_struct: number;
  off_dt_strings: number;
  off_mem_rsvmap: number;
  version: number;
  last_comp_version: number;
  boot_cpuid_phys: number;
  size_dt_strings: number;
  size_dt_struct: number;
}
export type FdtHeaderField = keyof typeof HDR;

/** Big-endian u32 load; the caller has checked `off + 4 <= buf.length`. */
export function be32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

export function setBe32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

/** Big-endian u64 load as bigint (memory reservation entries). */
export function be64(buf: Uint8Array, off: number): bigint {
  return (BigInt(be32(buf, off)) << 32n) | BigInt(be32(buf, off + 4));
}

export function setBe64(buf: Uint8Array, off: number, v: bigint): void {
  setBe32(buf, off, Number((v >> 32n) & 0xffffffffn));
  setBe32(buf, off + 4, Number(v & 0xffffffffn));
}

export function hdrGet(buf: Uint8Array, field: FdtHeaderField): number {
  return be32(buf, HDR[field]);
}

export function hdrSet(buf: Uint8Array, field: FdtHeaderField, v: number): void {
  setBe32(buf, HDR[field], v);
}

/**
 * Reads every header word. Words beyond the buffer read as 0 so a caller can
 * look at a truncated header before rejecting it.
 */
export function readHeader(buf: Uint8Array): FdtHeader {
  const get = (f: FdtHeaderField): number => (HDR[f] + 4 <= buf.length ? be32(buf, HDR[f]) : 0);
  return {
    magic: get("magic"),
    totalsize: get("totalsize"),
    off_dt_struct: get("off_dt_struct"),
    off_dt_strings: get("off_dt_strings"),
    off_mem_rsvmap: get("off_mem_rsvmap"),
    version: get("version"),
    last_comp_version: get("last_comp_version"),
    boot_cpuid_phys: get("boot_cpuid_phys"),
    size_dt_strings: get("size_dt_strings"),
    size_dt_struct: get("size_dt_struct"),
  };
}

/** Rounds up to a power-of-two alignment. */
export function alignUp(n: number, a: number): number {
  return (n + a - 1) & -a;
}
