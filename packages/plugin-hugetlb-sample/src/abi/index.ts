import { defineAbi, defineStruct, field, isKhoError, kho_block_header_ser } from "@khosim/kho-core";

/** KHO node name of the subtree: one child of the root KHO FDT. */
export const HUGETLB_SAMPLE_NODE_NAME = "hugetlb-sample";
export const HUGETLB_SAMPLE_V1_COMPATIBLE = "hugetlb-sample-v1";
/** Bytes of the compatible slot at offset 0 of every version. */
export const HUGETLB_SAMPLE_COMPATIBLE_LEN = 32;
/**
 * hstates the header can describe. A kernel has at most two huge page sizes
 * per base page size here (PMD and PUD); four leaves room for the arm64
 * contiguous-bit sizes without a new version.
 */
export const HUGETLB_SAMPLE_MAX_HSTATES = 4;
/** entry flags bit 0: the folio is pinned for device DMA and must stay at its address. */
export const HUGETLB_SAMPLE_FOLIO_PINNED = 0x1;
/** Every flag bit v1 defines; a reader refuses an entry with any other bit set. */
export const HUGETLB_SAMPLE_FOLIO_FLAGS = HUGETLB_SAMPLE_FOLIO_PINNED;

/*
 * Why a compatible string at offset 0: one rule identifies every version
 * (see identifyHugetlbSample), and it is the name kernels pin and reports
 * show. The 32 bytes and `total_pages` after them are the stable prefix:
 * every later version keeps both where they are, so a kernel that cannot
 * read a newer descriptor can still say how much memory it leaves reserved.
 */

/** One huge page size of the outgoing kernel and how many of its folios the chain lists. */
export const hugetlb_sample_hstate_ser = defineStruct(
  "hugetlb_sample_hstate_ser",
  {
    order: field.u32({ doc: "Folio order of this size: log2 of base pages per huge page." }),
    reserved: field.u32({ doc: "0; a reader refuses anything else.", oneOf: [0] }),
    nr_folios: field.u64({
      doc:
        "Entries of this order in the chain. Known from the header alone, so the next kernel can lower its " +
        "boot-time allocation of this size by what comes back instead of over-allocating; the reader also " +
        "checks the chain against it (a short chain is refused).",
    }),
  },
  { packed: true },
);

/** The subtree blob: one page from kho_alloc_preserve(). */
export const hugetlb_sample_ser = defineStruct(
  "hugetlb_sample_ser",
  {
    compatible: field.char(HUGETLB_SAMPLE_COMPATIBLE_LEN, {
      doc: `"${HUGETLB_SAMPLE_V1_COMPATIBLE}", NUL-padded: which version of the descriptor this is.`,
    }),
    total_pages: field.u64({
      doc:
        "Base pages of all listed folios. Stable prefix: a kernel that refuses this version still reports " +
        "how much memory stays reserved for nobody.",
    }),
    entries: field.phys({
      doc: "Head of the kho_block chain of struct hugetlb_sample_folio_ser entries; 0 when no folio is listed.",
    }),
    nr_hstates: field.u32({ doc: `hstates[] entries in use, at most ${HUGETLB_SAMPLE_MAX_HSTATES}.` }),
    reserved: field.u32({ doc: "0; a reader refuses anything else.", oneOf: [0] }),
    hstates: field.array(hugetlb_sample_hstate_ser, HUGETLB_SAMPLE_MAX_HSTATES, {
      doc: "Per huge page size, ascending order; unused slots are zero.",
    }),
  },
  { packed: true },
);

/** One preserved huge folio: an entry of the block chain. */
export const hugetlb_sample_folio_ser = defineStruct(
  "hugetlb_sample_folio_ser",
  {
    pfn: field.u64({
      doc:
        "Head page frame, aligned to the order. The folio is one radix key (pfn, order) from " +
        "kho_preserve_folio(); the next kernel passes PFN_PHYS(pfn) to kho_restore_folio().",
    }),
    owner: field.u64({
      doc:
        "Token of the user holding the folio (a VMM's guest id); 0 for a free folio of the pool. Handed " +
        "back unchanged so the user finds its memory again.",
    }),
    node: field.u32({
      doc:
        "NUMA node the folio was counted on. The reader compares it with the node the pfn lies on: a " +
        "different memory layout after kexec is refused instead of miscounting per-node pools.",
    }),
    order: field.u16({
      doc: "Folio order; must match an hstate of the header and the order kho_restore_folio() returns.",
    }),
    flags: field.u16({ doc: "HUGETLB_SAMPLE_FOLIO_PINNED (bit 0); other bits are refused." }),
  },
  { packed: true },
);

const history = [
  {
    version: "1",
    change:
      "compatible, total_pages, entries (kho_block chain), per-hstate counts; entries pfn, owner, node, order, flags.",
  },
];

export const hugetlbSampleV1 = defineAbi({
  name: HUGETLB_SAMPLE_NODE_NAME,
  title: "hugetlb sample, version 1",
  summary:
    "Huge pages a workload (a VMM's guest memory) keeps across kexec at the same physical addresses. " +
    "Each folio is preserved as one high-order radix key with kho_preserve_folio(); the descriptor, one " +
    "page from kho_alloc_preserve(), counts folios per huge page size and points at a kho_block chain " +
    "listing every folio with its owner. The contents of the folios are not copied: they stay in place.",
  compatible: [HUGETLB_SAMPLE_V1_COMPATIBLE],
  version: "1",
  history,
  layout: hugetlb_sample_ser,
  related: [hugetlb_sample_hstate_ser, hugetlb_sample_folio_ser, kho_block_header_ser],
  defines: {
    HUGETLB_SAMPLE_NODE_NAME,
    HUGETLB_SAMPLE_V1_COMPATIBLE,
    HUGETLB_SAMPLE_COMPATIBLE_LEN,
    HUGETLB_SAMPLE_MAX_HSTATES,
    HUGETLB_SAMPLE_FOLIO_PINNED,
  },
});

const slot = hugetlb_sample_ser.fields.compatible;
const slotAt = hugetlb_sample_ser.offsetOf("compatible");

/**
 * The compatible string at offset 0, for every version; null for a blob
 * too short or without a clean NUL-terminated string (never guessed).
 */
export function identifyHugetlbSample(blob: Uint8Array): string | null {
  if (blob.length < slotAt + slot.size) return null;
  try {
    return slot.read(new DataView(blob.buffer, blob.byteOffset, blob.length), slotAt, "hugetlb_sample_ser.compatible");
  } catch (e) {
    if (isKhoError(e)) return null;
    throw e;
  }
}
