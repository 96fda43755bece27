/**
 * libfdt-exact DTB checking, reading and writing; dtc-exact DTS.
 *
 * @module @khosim/kho-core/fdt
 */

export { canonChunks, toCanon } from "./canon.js";
export { checkFdtHeader, checkFull, fdtHeaderSize, fdtVerdict } from "./check.js";
export { CHUNK_CHARS } from "./chunks.js";
export * from "./constants.js";
export { DtsError, dtsChunks, toDts } from "./dts.js";
export * from "./errors.js";
export * from "./header.js";
export { type FdtMemReserve, type FdtNode, type FdtProp, type FdtTree, parseFdt } from "./parse.js";
export {
  checkHeader,
  checkHeaderRc,
  FDT_PROP_HEADER_SIZE,
  FDT_SW_MAGIC,
  type FdtProperty,
  type FdtTag,
  fdtErrno,
  findProp,
  firstSubnode,
  getMemRsv,
  getName,
  getprop,
  getString,
  nextNode,
  nextSubnode,
  nextTag,
  nodeCheckCompatible,
  nodeCheckCompatibleRc,
  numMemRsv,
  pathOffset,
  properties,
  stringlistContains,
  subnodeOffset,
  subnodes,
} from "./ro.js";
export { FDT_RW_RSVMAP_OFFSET, FdtRw } from "./rw.js";
export { FDT_CREATE_FLAG_NO_NAME_DEDUP, FDT_SW_RSVMAP_OFFSET, FdtSw, type U64 as FdtU64 } from "./sw.js";
