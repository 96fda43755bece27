export * from "./luo.js";
export * from "./memfd.js";
export * from "./uapi.js";

import { luoV5 } from "./luo.js";
import { memfdV2 } from "./memfd.js";

/** The ABIs the plugin hands over, for `kho abi` and docs/abi: the LUO subtree and the memfd handler's data. */
export const LUO_ABIS = [luoV5, memfdV2] as const;
