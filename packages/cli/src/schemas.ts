import { type AbiSchema, CORE_ABIS } from "@khosim/kho-core";
import { hugetlbSampleV1 } from "@khosim/plugin-hugetlb-sample";
import { kexecMetadataV1 } from "@khosim/plugin-kexec-metadata";

/** Every ABI this build knows: KHO's own, then each in-tree plugin's subtrees. */
export const ALL_ABIS: readonly AbiSchema[] = [...CORE_ABIS, kexecMetadataV1, hugetlbSampleV1];
