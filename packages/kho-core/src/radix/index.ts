export * from "./geometry.js";
export * from "./tree.js";
export * from "./stream.js";
