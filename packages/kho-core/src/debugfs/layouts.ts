import { defineStruct } from "../abi/struct.js";
import { field } from "../abi/vocabulary.js";

/*
 * The two raw-struct subtrees a copy of debugfs shows. Their owners (the
 * kexec-metadata and LUO plugins) build on kho-core, so kho-core cannot
 * import their layouts; these declarations serve only the decoder here.
 */

export const KHO_METADATA_NODE_NAME = "kexec-metadata";
export const KHO_KEXEC_METADATA_VERSION = 1;
export const LUO_NODE_NAME = "LUO";
export const LUO_ABI_COMPATIBLE = "luo-v5";

export const debugfs_kho_kexec_metadata = defineStruct(
  "kho_kexec_metadata",
  {
    version: field.u32({ doc: "KHO_KEXEC_METADATA_VERSION (1)." }),
    previous_release: field.char(65, { doc: "`uname -r` of the kernel that wrote the blob." }),
    kexec_count: field.u32({ doc: "kexec boots since the last cold boot, including the one handed over to." }),
  },
  { packed: true },
);

export const debugfs_luo_ser = defineStruct(
  "luo_ser",
  {
    compatible: field.char(8, { doc: '"luo-v5" NUL-padded.' }),
    liveupdate_num: field.u64({ doc: "Live updates so far, counting this hand-over." }),
    sessions_pa: field.phys({ doc: "First session block header; 0 = no sessions." }),
    flbs_pa: field.phys({ doc: "The FLB page." }),
  },
  { packed: true },
);
