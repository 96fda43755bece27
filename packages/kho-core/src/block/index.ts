/**
 * kho_block serialization block sets.
 *
 * @module @khosim/kho-core/block
 */

export * from "./backend.js";
export * from "./entry.js";
export * from "./header.js";
export * from "./set.js";
