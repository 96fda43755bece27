import { defineAbi } from "./schema.js";
import { defineStruct } from "./struct.js";
import { field } from "./vocabulary.js";

/** One scratch area; the handover passes an array of them. */
export const kho_scratch = defineStruct(
  "kho_scratch",
  {
    addr: field.u64({ doc: "Start of the area (phys_addr_t)." }),
    size: field.u64({ doc: "Length of the area in bytes (phys_addr_t)." }),
  },
  { packed: false },
);

export const khoScratchAbi = defineAbi({
  name: "kho-scratch",
  kind: "core",
  title: "KHO scratch areas",
  summary:
    "The array of scratch areas the next kernel may allocate from before it has reserved " +
    "the preserved memory. Entry 0 is the lowmem area, entry 1 the global area, then one " +
    "entry per NUMA node with memory. The array is copied into a kexec segment at load time.",
  version: "kho-v4",
  layout: kho_scratch,
});
