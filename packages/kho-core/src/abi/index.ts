// The vocabulary
export * from "./field.js";
export * from "./struct.js";
export * from "./vocabulary.js";
export * from "./fdt-layout.js";
export * from "./schema.js";
// Generators
export * from "./gen-c.js";
export * from "./gen-markdown.js";
export * from "./gen-json.js";
// Core layouts, one module per kernel ABI header
export * from "./kexec-handover.js";
export * from "./block.js";
export * from "./scratch.js";
export * from "./x86-setup-data.js";
export * from "./core.js";
