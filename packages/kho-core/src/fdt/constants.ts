/** Flattened devicetree framing constants (DTB version 17), as libfdt defines them. */
export const FDT_MAGIC = 0xd00dfeed;
export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;

export const FDT_TAGSIZE = 4;
export const FDT_V1_SIZE = 7 * 4;
export const FDT_V2_SIZE = FDT_V1_SIZE + 4;
export const FDT_V3_SIZE = FDT_V2_SIZE + 4;
export const FDT_V16_SIZE = FDT_V3_SIZE;
export const FDT_V17_SIZE = FDT_V16_SIZE + 4;
/** Header size of the version this project writes. */
export const FDT_HEADER_SIZE = FDT_V17_SIZE;
export const FDT_RESERVE_ENTRY_SIZE = 16;
export const FDT_LAST_SUPPORTED_VERSION = 0x11;
export const FDT_FIRST_SUPPORTED_VERSION = 0x02;
export const FDT_LAST_COMPATIBLE_VERSION = 0x10;
export const FDT_MAX_DEPTH = 64;

/** Header word offsets (all big-endian u32). */
export const HDR = {
  magic: 0,
  totalsize: 4,
  off_dt_struct: 8,
  off_dt_strings: 12,
  off_mem_rsvmap: 16,
  version: 20,
  last_comp_version: 24,
  boot_cpuid_phys: 28,
  size_dt_strings: 32,
  size_dt_struct: 36,
} as const;

/** libfdt's error names, in the order of their numeric codes (1 = FDT_ERR_NOTFOUND). */
export const FDT_ERR_NAMES = [
  "FDT_ERR_NOTFOUND",
  "FDT_ERR_EXISTS",
  "FDT_ERR_NOSPACE",
  "FDT_ERR_BADOFFSET",
  "FDT_ERR_BADPATH",
  "FDT_ERR_BADPHANDLE",
  "FDT_ERR_BADSTATE",
  "FDT_ERR_TRUNCATED",
  "FDT_ERR_BADMAGIC",
  "FDT_ERR_BADVERSION",
  "FDT_ERR_BADSTRUCTURE",
  "FDT_ERR_BADLAYOUT",
  "FDT_ERR_INTERNAL",
  "FDT_ERR_BADNCELLS",
  "FDT_ERR_BADVALUE",
  "FDT_ERR_BADOVERLAY",
  "FDT_ERR_NOPHANDLES",
  "FDT_ERR_BADFLAGS",
  "FDT_ERR_ALIGNMENT",
] as const;
export type FdtErrName = (typeof FDT_ERR_NAMES)[number];

/** libfdt's numeric code for an error name (positive; libfdt returns its negation). */
export function fdtErrCode(name: FdtErrName): number {
  return FDT_ERR_NAMES.indexOf(name) + 1;
}
