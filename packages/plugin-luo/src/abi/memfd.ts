import { defineAbi, defineStruct, field, kho_vmalloc } from "@khosim/kho-core";

/** MEMFD_LUO_FH_COMPATIBLE at v7.2-rc1. */
export const MEMFD_LUO_FH_COMPATIBLE = "memfd-v2";
/** F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC. */
export const MEMFD_LUO_ALL_SEALS = 0x3f;
/** Bits of memfd_luo_folio_ser.pfn; the 12 bits above it are the flags. */
export const MEMFD_LUO_FOLIO_PFN_BITS = 52;
/** Folio flag bits kept across the handover. */
export const MEMFD_LUO_FOLIO_DIRTY = 0x1;
export const MEMFD_LUO_FOLIO_UPTODATE = 0x2;

/**
 * One entry of the folio array. In C the first word is two bitfields
 * (`u64 pfn:52; u64 flags:12;`); the schema layer has no bitfields, so the
 * word is declared whole and split by the handler.
 */
export const memfd_luo_folio_ser = defineStruct(
  "memfd_luo_folio_ser",
  {
    pfn_flags: field.u64({ doc: "Bits 0-51: pfn of the folio's head page (0: skipped); bits 52-63: flags." }),
    index: field.u64({ doc: "Page offset of the folio in the file." }),
  },
  { packed: true },
);

export const memfd_luo_ser = defineStruct(
  "memfd_luo_ser",
  {
    pos: field.u64({ doc: "File position, refreshed at freeze." }),
    size: field.u64({ doc: "i_size in bytes." }),
    seals: field.u32({ doc: "F_SEAL_* bits, a subset of MEMFD_LUO_ALL_SEALS." }),
    flags: field.u32({ doc: "Must be 0." }),
    nr_folios: field.u64({ doc: "Entries of the folio array; 0 for an empty file." }),
    folios: kho_vmalloc,
  },
  { packed: true },
);

export const memfdV2 = defineAbi({
  name: "memfd",
  title: "memfd file handler (memfd-v2)",
  summary:
    "What the memfd file handler (mm/memfd_luo.c) hands over for one preserved memfd: its `struct " +
    "luo_file_ser.data` is the PA of a `struct memfd_luo_ser` in a zeroed page from kho_alloc_preserve. " +
    "The folio array (`struct memfd_luo_folio_ser` entries) is a preserved vmalloc area; every folio " +
    "of the file is preserved whole.",
  compatible: [MEMFD_LUO_FH_COMPATIBLE],
  version: MEMFD_LUO_FH_COMPATIBLE,
  history: [
    { version: "memfd-v1", change: "First version." },
    { version: "memfd-v2", change: "Current version at v7.2-rc1." },
  ],
  layout: memfd_luo_ser,
  related: [memfd_luo_folio_ser],
  defines: { MEMFD_LUO_FH_COMPATIBLE, MEMFD_LUO_ALL_SEALS, MEMFD_LUO_FOLIO_DIRTY, MEMFD_LUO_FOLIO_UPTODATE },
});
