/**
 * Generators (Markdown, C header, JSON Schema) and the layouts KHO itself hands over.
 *
 * @module @khosim/kho-core/abi
 */

// The vocabulary

export * from "./block.js";
export * from "./core.js";
export * from "./fdt-layout.js";
export * from "./field.js";
// Generators
export * from "./gen-c.js";
export * from "./gen-json.js";
export * from "./gen-markdown.js";
// Core layouts, one module per kernel ABI header
export * from "./kexec-handover.js";
export * from "./nodes.js";
export * from "./schema.js";
export * from "./scratch.js";
export * from "./struct.js";
export * from "./vocabulary.js";
export * from "./x86-setup-data.js";
