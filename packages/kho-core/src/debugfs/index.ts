export * from "./decode.js";
export * from "./view.js";
