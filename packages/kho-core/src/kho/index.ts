export * from "./in.js";
export * from "./out.js";
export * from "./scratch.js";
export * from "./split.js";
export * from "./types.js";
