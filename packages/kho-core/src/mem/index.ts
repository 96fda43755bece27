/**
 * Sparse physical memory, poison and the page allocator.
 *
 * @module @khosim/kho-core/mem
 */

export * from "./alloc.js";
export * from "./geometry.js";
export * from "./intervals.js";
export * from "./pfn-bytes.js";
export * from "./phys.js";
export * from "./seeded.js";
