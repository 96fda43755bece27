export * from "./decode.js";
export * from "./layouts.js";
export * from "./view.js";
