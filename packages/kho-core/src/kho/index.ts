/**
 * KhoOut (outgoing), KhoIn (incoming) and scratch sizing.
 *
 * @module @khosim/kho-core/kho
 */

export * from "./in.js";
export * from "./out.js";
export * from "./scratch.js";
export * from "./split.js";
export * from "./types.js";
