import { type AbiSchema, CORE_ABIS } from "@khosim/kho-core";
import { kexecMetadataV1 } from "@khosim/plugin-kexec-metadata";
import { LUO_ABIS } from "@khosim/plugin-luo";

/** Every ABI this build knows: KHO's own, then each in-tree plugin's subtrees. */
export const ALL_ABIS: readonly AbiSchema[] = [...CORE_ABIS, kexecMetadataV1, ...LUO_ABIS];
