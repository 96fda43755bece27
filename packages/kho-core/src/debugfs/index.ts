export * from "./view.js";
export * from "./layouts.js";
export * from "./decode.js";
