export * from "./geometry.js";
export * from "./stream.js";
export * from "./tree.js";
