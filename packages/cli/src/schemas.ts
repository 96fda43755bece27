import type { AbiSchema } from "@khosim/kho-core";
import { CORE_ABIS } from "@khosim/kho-core/abi";
import { kexecMetadataV1 } from "@khosim/plugin-kexec-metadata";

/** Every ABI this build knows: KHO's own, then each in-tree plugin's subtrees. */
export const ALL_ABIS: readonly AbiSchema[] = [...CORE_ABIS, kexecMetadataV1];
