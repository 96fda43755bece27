/**
 * The kernel's debugfs kho/ tree: the view of a kernel, writing it, and decoding a copy.
 *
 * @module @khosim/kho-core/debugfs
 */

export * from "./decode.js";
export { FDT_JSON_LIMITS, type FdtJsonNode, type FdtJsonProp, type FdtJsonTree, fdtJson } from "./fdt-json.js";
export * from "./view.js";
