/**
 * ELF64 core images of a machine at the jump, and booting from them.
 *
 * @module @khosim/kho-core/image
 */

export * from "./elf.js";
export * from "./format.js";
export * from "./info.js";
export * from "./inspect.js";
export * from "./machine.js";
export * from "./notes.js";
