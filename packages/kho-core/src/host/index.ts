export * from "./compose.js";
export * from "./context.js";
export * from "./plugin.js";
export * from "./report.js";
export * from "./runner.js";
export * from "./scenario.js";
export * from "./services.js";
export * from "./subtree.js";
