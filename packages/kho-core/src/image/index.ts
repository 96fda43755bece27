export * from "./elf.js";
export * from "./notes.js";
export * from "./format.js";
export * from "./machine.js";
export * from "./info.js";
