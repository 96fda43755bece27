import { defineAbi } from "./schema.js";
import { defineStruct } from "./struct.js";
import { field } from "./vocabulary.js";

/** x86 setup_data type of the KHO boot record. */
export const SETUP_KEXEC_KHO = 10;

/** The header of every x86 setup_data entry; `len` payload bytes follow it. */
export const setup_data = defineStruct(
  "setup_data",
  {
    next: field.phys({ doc: "Next setup_data entry." }),
    type: field.u32({ doc: "Entry type; 10 (SETUP_KEXEC_KHO) for the KHO record." }),
    len: field.u32({ doc: "Payload bytes after this header; 32 for the KHO record." }),
  },
  { packed: false },
);

/** The payload of the SETUP_KEXEC_KHO entry. */
export const kho_data = defineStruct(
  "kho_data",
  {
    fdt_addr: field.phys({ doc: "Root KHO FDT." }),
    fdt_size: field.u64({ doc: "Length of the root FDT buffer: PAGE_SIZE." }),
    scratch_addr: field.phys({ doc: "The copied `struct kho_scratch` array." }),
    scratch_size: field.u64({ doc: "Bytes of the scratch array: 16 per area." }),
  },
  { packed: true },
);

export const x86KhoDataAbi = defineAbi({
  name: "x86-kho-data",
  kind: "core",
  title: "x86 KHO boot record",
  summary:
    "On x86 the kexec loader hands the root KHO FDT and the scratch array to the next kernel " +
    "in a setup_data entry of type SETUP_KEXEC_KHO whose payload is `struct kho_data`. " +
    "Devicetree architectures use `/chosen/linux,kho-fdt` and `/chosen/linux,kho-scratch` instead.",
  version: "kho-v4",
  layout: kho_data,
  related: [setup_data],
  defines: { SETUP_KEXEC_KHO },
});
