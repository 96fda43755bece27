import { defineFdtNode, prop } from "./fdt-layout.js";
import { defineAbi } from "./schema.js";
import { defineStruct } from "./struct.js";
import { field, perPageSize } from "./vocabulary.js";

/** Root KHO FDT compatible string at v7.2-rc1. */
export const KHO_FDT_COMPATIBLE = "kho-v4";
export const KHO_FDT_MEMORY_MAP_PROP_NAME = "preserved-memory-map";
export const KHO_FDT_SUB_TREE_PROP_NAME = "preserved-data";
export const KHO_FDT_BLOB_SIZE_PROP_NAME = "blob-size";

/** One subtree entry of the root FDT. Property order is the one kho_add_subtree() leaves. */
export const khoSubtreeNode = defineFdtNode("<name>", {
  doc: "A subtree registered with kho_add_subtree(); the node name is the subtree name.",
  props: {
    [KHO_FDT_BLOB_SIZE_PROP_NAME]: prop.u64({ doc: "Size of the blob in bytes, as the caller gave it." }),
    [KHO_FDT_SUB_TREE_PROP_NAME]: prop.u64({ doc: "Physical address of the preserved blob." }),
  } as const,
});

export const khoRootFdt = defineFdtNode("/", {
  doc: "The root KHO FDT: one preserved page, edited in place and packed after every change.",
  compatible: [KHO_FDT_COMPATIBLE],
  props: {
    [KHO_FDT_MEMORY_MAP_PROP_NAME]: prop.u64({ doc: "Physical address of the radix tree root page; must not be 0." }),
  } as const,
  children: khoSubtreeNode,
  childName: "<subtree name>",
});

export const khoRootAbi = defineAbi({
  name: "kho-root",
  kind: "core",
  title: "Root KHO FDT",
  summary:
    "The devicetree blob KHO passes to the next kernel. It names the preserved-memory radix " +
    "tree and lists every subtree, newest first. All values KHO stores in it are CPU-native " +
    "(little-endian) u64s, not devicetree cells.",
  version: KHO_FDT_COMPATIBLE,
  history: [
    { version: "kho-v1", change: "Per-order bitmaps; the subtree pointer property was named `fdt`." },
    { version: "kho-v2", change: "Radix tree of preserved pages; subtree pointer renamed `preserved-data`." },
    { version: "kho-v3", change: "`blob-size` added to every subtree node." },
    { version: "kho-v4", change: "Linked-block serialization ABI; the FDT shape is unchanged." },
  ],
  layout: khoRootFdt,
  defines: {
    KHO_FDT_COMPATIBLE,
    KHO_FDT_MEMORY_MAP_PROP_NAME,
    KHO_FDT_SUB_TREE_PROP_NAME,
    KHO_FDT_BLOB_SIZE_PROP_NAME,
  },
});

/** The link at the start of every vmalloc chunk page. */
export const kho_vmalloc_hdr = defineStruct(
  "kho_vmalloc_hdr",
  { next: field.phys({ doc: "Next chunk page." }) },
  { packed: false },
);

/**
 * One page listing the groups of a preserved vmalloc area: the header, then
 * as many u64 addresses as fill the page, ended by the first 0 entry.
 */
export const kho_vmalloc_chunk = perPageSize("kho_vmalloc_chunk", (pageSize) =>
  defineStruct(
    "kho_vmalloc_chunk",
    {
      hdr: kho_vmalloc_hdr,
      phys: field.array(field.phys(), (pageSize - kho_vmalloc_hdr.size) / 8, {
        doc: "Physical address of each 2^order-page group, ended by the first 0.",
      }),
    },
    { packed: false },
  ),
);

/** Bit 0 of kho_vmalloc.flags: the area came from vmalloc (VM_ALLOC). */
export const KHO_VMALLOC_ALLOC = 0x1;
/** Bit 1 of kho_vmalloc.flags: the area may use huge mappings (VM_ALLOW_HUGE_VMAP). */
export const KHO_VMALLOC_HUGE_VMAP = 0x2;

export const kho_vmalloc = defineStruct(
  "kho_vmalloc",
  {
    first: field.phys({ doc: "First chunk page." }),
    total_pages: field.u32({ doc: "Pages in the area (nr_pages)." }),
    flags: field.u16({
      doc: "KHO_VMALLOC_ALLOC (bit 0), KHO_VMALLOC_HUGE_VMAP (bit 1); other bits are refused on restore.",
    }),
    order: field.u16({ doc: "Page order of the mapping; each chunk entry covers 2^order pages." }),
  },
  { packed: false },
);

export const khoVmallocAbi = defineAbi({
  name: "kho-vmalloc",
  kind: "core",
  title: "KHO vmalloc preservation",
  summary:
    "A preserved vmalloc area is described by `struct kho_vmalloc`, usually embedded in a " +
    "subtree's own struct. Its pages are listed in a chain of chunk pages.",
  compatible: [KHO_FDT_COMPATIBLE],
  version: KHO_FDT_COMPATIBLE,
  layout: kho_vmalloc,
  related: [kho_vmalloc_chunk],
  defines: { KHO_VMALLOC_ALLOC, KHO_VMALLOC_HUGE_VMAP },
});
