/**
 * Machine, Kernel, boot paths, kexec and handover records.
 *
 * @module @khosim/kho-core/kexec
 */

export * from "./cmdline.js";
export * from "./handover.js";
export * from "./kernel.js";
export * from "./machine.js";
export * from "./memory-map.js";
