export * from "./geometry.js";
export * from "./intervals.js";
export * from "./phys.js";
export * from "./alloc.js";
