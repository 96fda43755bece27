import { defineAbi, defineStruct, field, kho_vmalloc } from "@khosim/kho-core";

/** KHO node name of the bench's small-page subtree. */
export const PAGE_SAMPLE_NODE_NAME = "page-sample";
export const PAGE_SAMPLE_V1_COMPATIBLE = "page-sample-v1";
/** Bytes of the compatible slot at offset 0. */
export const PAGE_SAMPLE_COMPATIBLE_LEN = 32;

/**
 * The subtree blob, one page from kho_alloc_preserve(). Shaped after
 * memfd-v2 (mm/memfd_luo.c): every page is preserved as one order-0 key
 * with kho_preserve_folio(), and a preserved vmalloc area lists the page
 * frames, one u64 each, in the order the workload allocated them.
 */
export const page_sample_ser = defineStruct(
  "page_sample_ser",
  {
    compatible: field.char(PAGE_SAMPLE_COMPATIBLE_LEN, {
      doc: `"${PAGE_SAMPLE_V1_COMPATIBLE}", NUL-padded: which version of the descriptor this is.`,
    }),
    nr_pages: field.u64({ doc: "Order-0 pages preserved, and u64 page frames in the array." }),
    seed: field.u32({ doc: "Seeded fill of the pages on node 0; node n holds the fill of seed + n." }),
    reserved: field.u32({ doc: "0; a reader refuses anything else.", oneOf: [0] }),
    pfns: kho_vmalloc,
  },
  { packed: true },
);

export const pageSampleV1 = defineAbi({
  name: PAGE_SAMPLE_NODE_NAME,
  title: "page sample (benchmark), version 1",
  summary:
    "Order-0 pages a workload keeps across kexec, as a memfd of small pages does: each page one radix key " +
    "from kho_preserve_folio(), listed by page frame in a preserved vmalloc area the descriptor points at.",
  compatible: [PAGE_SAMPLE_V1_COMPATIBLE],
  version: "1",
  history: [{ version: "1", change: "First version: compatible, nr_pages, seed, the page-frame array." }],
  layout: page_sample_ser,
  defines: { PAGE_SAMPLE_NODE_NAME, PAGE_SAMPLE_V1_COMPATIBLE, PAGE_SAMPLE_COMPATIBLE_LEN },
});
