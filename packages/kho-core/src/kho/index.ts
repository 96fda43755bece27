export * from "./types.js";
export * from "./split.js";
export * from "./scratch.js";
export * from "./out.js";
export * from "./in.js";
