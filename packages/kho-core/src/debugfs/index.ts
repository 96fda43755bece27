/**
 * The kernel's debugfs kho/ tree: the view of a kernel, writing it, and decoding a copy.
 *
 * @module @khosim/kho-core/debugfs
 */

export * from "./decode.js";
export * from "./fdt-json.js";
export * from "./view.js";
