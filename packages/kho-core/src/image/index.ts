export * from "./elf.js";
export * from "./format.js";
export * from "./info.js";
export * from "./machine.js";
export * from "./notes.js";
