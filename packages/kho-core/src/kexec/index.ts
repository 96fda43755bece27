export * from "./cmdline.js";
export * from "./handover.js";
export * from "./kernel.js";
export * from "./machine.js";
