import { defineAbi } from "./schema.js";
import { defineStruct } from "./struct.js";
import { field } from "./vocabulary.js";

/** The header at the start of every page of a KHO serialization block set. */
export const kho_block_header_ser = defineStruct(
  "kho_block_header_ser",
  {
    next: field.phys({ doc: "Next block header of the chain." }),
    count: field.u64({ doc: "Entries in use in this block; they follow the header back to back." }),
  },
  { packed: true },
);

export const khoBlockAbi = defineAbi({
  name: "kho-block",
  kind: "core",
  title: "KHO serialization blocks",
  summary:
    "A block set is a chain of preserved pages, one page per block. Each page starts with " +
    "`struct kho_block_header_ser` and is followed by `count` fixed-size entries; " +
    "`(PAGE_SIZE - 16) / entry_size` entries fit in one block. The block format has no " +
    "compatible string of its own: it is versioned by the root KHO FDT compatible.",
  compatible: ["kho-v4"],
  version: "kho-v4",
  history: [{ version: "kho-v4", change: "Linked-block serialization introduced." }],
  layout: kho_block_header_ser,
  defines: { KHO_BLOCK_MAX_BLOCKS: 10000 },
});
