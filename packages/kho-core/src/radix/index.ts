/**
 * The preserved-memory radix tree and the reference's key streams.
 *
 * @module @khosim/kho-core/radix
 */

export * from "./geometry.js";
export * from "./stream.js";
export * from "./tree.js";
export { type RadixBatchSink, WALK_BATCH } from "./walk-batch.js";
