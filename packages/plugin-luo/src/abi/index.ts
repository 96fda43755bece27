export * from "./luo.js";
export * from "./memfd.js";
