export * from "./alloc.js";
export * from "./geometry.js";
export * from "./intervals.js";
export * from "./phys.js";
export * from "./seeded.js";
