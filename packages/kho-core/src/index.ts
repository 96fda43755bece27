export * from "./errors.js";
export * from "./units.js";
export * from "./fdt/index.js";
export * from "./mem/index.js";
export * from "./radix/index.js";
export * from "./abi/index.js";
export * from "./block/index.js";
