export * from "./abi/index.js";
export * from "./actions.js";
export type { LuoEnv } from "./env.js";
export * from "./inspect.js";
export { LuoCore, luoRestorePanic } from "./luo_core.js";
export { type LuoV1State, readLuoV1 } from "./luo_fdt_v1.js";
export type {
  LiveFile,
  LiveupdateFileHandler,
  LiveupdateFileOpArgs,
  LiveupdateFileOps,
  LuoFile,
  LuoFileEntry,
} from "./luo_file.js";
export type { LiveupdateFlb, LiveupdateFlbOpArgs, LiveupdateFlbOps } from "./luo_flb.js";
export type { HandedOverSession, LuoSession, LuoSessionOptions } from "./luo_session.js";
export { Memfd, memfdCreate, memfdHandler } from "./memfd.js";
export * from "./plugin.js";
export * from "./report.js";
export { LiveupdateUapi } from "./uapi.js";
