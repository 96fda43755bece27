export * from "./constants.js";
export * from "./errors.js";
export * from "./header.js";
export { checkFull, checkFdtHeader, fdtVerdict, fdtHeaderSize } from "./check.js";
export { parseFdt, type FdtTree, type FdtNode, type FdtProp, type FdtMemReserve } from "./parse.js";
export { toDts, DtsError } from "./dts.js";
export { toCanon } from "./canon.js";
