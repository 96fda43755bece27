export * from "./backend.js";
export * from "./header.js";
export * from "./set.js";
