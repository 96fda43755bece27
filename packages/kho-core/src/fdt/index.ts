export * from "./constants.js";
export * from "./errors.js";
export * from "./header.js";
export { checkFull, checkFdtHeader, fdtVerdict, fdtHeaderSize } from "./check.js";
export { parseFdt, type FdtTree, type FdtNode, type FdtProp, type FdtMemReserve } from "./parse.js";
export { toDts, DtsError } from "./dts.js";
export { toCanon } from "./canon.js";
export {
  FDT_SW_MAGIC,
  FDT_PROP_HEADER_SIZE,
  fdtErrno,
  checkHeader,
  checkHeaderRc,
  nextTag,
  type FdtTag,
  nextNode,
  getName,
  firstSubnode,
  nextSubnode,
  subnodes,
  subnodeOffset,
  pathOffset,
  getprop,
  findProp,
  properties,
  type FdtProperty,
  getString,
  stringlistContains,
  nodeCheckCompatible,
  nodeCheckCompatibleRc,
  numMemRsv,
  getMemRsv,
} from "./ro.js";
export { FdtSw, FDT_CREATE_FLAG_NO_NAME_DEDUP, FDT_SW_RSVMAP_OFFSET, type U64 as FdtU64 } from "./sw.js";
export { FdtRw, FDT_RW_RSVMAP_OFFSET } from "./rw.js";
