export * from "./abi/index.js";
export * from "./contents.js";
export * from "./describe.js";
export * from "./plugin.js";
export * from "./pool.js";
export * from "./serialize.js";
export * from "./state.js";
