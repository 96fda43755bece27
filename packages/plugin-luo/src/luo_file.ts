import { hex, isKhoError, type KhoBlockSet, KhoError } from "@khosim/kho-core";
import { LIVEUPDATE_HNDL_COMPAT_LENGTH, luo_file_ser, luo_file_set_ser } from "./abi/index.js";
import { cStringBytes, type LuoEnv, luoBlockSet, utf8Length } from "./env.js";
import { HandedOverFiles, u32Halves } from "./luo_file_handed_over.js";
import { type LuoFileEntry, readFileEntryWords, writeFileEntry } from "./luo_file_ser.js";
import type { LuoFlbRegistry } from "./luo_flb.js";

export type { LuoFileEntry } from "./luo_file_ser.js";

/** A `struct file` as LUO sees it: any object a handler recognises. */
export type LiveFile = object;

/** struct liveupdate_file_op_args: what a handler op gets and may set. */
export interface LiveupdateFileOpArgs {
  readonly handler: LiveupdateFileHandler;
  readonly env: LuoEnv;
  /** 0 not retrieved, 1 retrieved, < 0 the errno the retrieve failed with (finish only). */
  readonly retrieveStatus: number;
  file: LiveFile | null;
  serializedData: bigint;
  privateData: unknown;
}

/**
 * liveupdate_file_ops. Ops fail by throwing a KhoError; `freeze`,
 * `unfreeze`, `canFinish` and `getId` are optional.
 */
export interface LiveupdateFileOps {
  canPreserve(handler: LiveupdateFileHandler, file: LiveFile): boolean;
  preserve(args: LiveupdateFileOpArgs): void;
  unpreserve(args: LiveupdateFileOpArgs): void;
  freeze?(args: LiveupdateFileOpArgs): void;
  unfreeze?(args: LiveupdateFileOpArgs): void;
  retrieve(args: LiveupdateFileOpArgs): void;
  canFinish?(args: LiveupdateFileOpArgs): boolean;
  finish(args: LiveupdateFileOpArgs): void;
  getId?(file: LiveFile): unknown;
}

export interface LiveupdateFileHandler {
  readonly compatible: string;
  readonly ops: LiveupdateFileOps;
}

/** Field offsets of the entries every file reads or writes, looked up once. */
const FILES_AT = luo_file_set_ser.offsetOf("files");
const COUNT_AT = luo_file_set_ser.offsetOf("count");

/** Files in a set from which tokens are looked up in a map rather than by a scan of the list. */
const TOKEN_INDEX_FROM = 32;

const REQUIRED_OPS = ["canPreserve", "preserve", "unpreserve", "retrieve", "finish"] as const;

/** One preserved file (struct luo_file). */
export interface LuoFile {
  readonly fh: LiveupdateFileHandler;
  readonly token: bigint;
  file: LiveFile | null;
  serializedData: bigint;
  privateData: unknown;
  /** 0 never retrieved, 1 retrieved, < 0 the failed retrieve's errno. */
  retrieveStatus: number;
  /** The failed retrieve's error, thrown again on every later attempt. */
  retrieveError: KhoError | null;
}

/**
 * The handlers registered in this kernel and the global "already
 * preserved" index (luo_file.c's handler list and luo_preserved_files).
 */
export class LuoFileHandlers {
  readonly list: LiveupdateFileHandler[] = [];
  readonly preservedIds = new Set<unknown>();
  /** Every file the previous kernel handed over, each session's a range of it. */
  readonly handedOver = new HandedOverFiles();
  /** Each handler's compatible as its entries store it, encoded once: every frozen file writes it. */
  readonly #compatBytes = new Map<LiveupdateFileHandler, Uint8Array>();

  /** liveupdate_register_file_handler: EINVAL for a missing op or bad compatible, EEXIST for a duplicate. */
  register(fh: LiveupdateFileHandler): void {
    for (const op of REQUIRED_OPS)
      if (typeof fh.ops[op] !== "function") throw new KhoError("EINVAL", `file handler lacks ${op}`, fh.compatible);
    const len = utf8Length(fh.compatible);
    if (len === 0 || len >= LIVEUPDATE_HNDL_COMPAT_LENGTH)
      throw new KhoError("EINVAL", `file handler compatible "${fh.compatible}" does not fit`, fh.compatible);
    if (this.list.some((h) => h.compatible === fh.compatible))
      throw new KhoError("EEXIST", `Compatible string '${fh.compatible}' already registered`, fh.compatible);
    this.list.push(fh);
    this.#compatBytes.set(fh, cStringBytes(fh.compatible, LIVEUPDATE_HNDL_COMPAT_LENGTH));
  }

  /** The `compatible` field of a `struct luo_file_ser` written by a registered handler. */
  compatBytes(fh: LiveupdateFileHandler): Uint8Array {
    const bytes = this.#compatBytes.get(fh);
    if (!bytes) throw new KhoError("EINVAL", "file handler is not registered", fh.compatible);
    return bytes;
  }

  find(compatible: string): LiveupdateFileHandler | undefined {
    for (const h of this.list) if (h.compatible === compatible) return h;
    return undefined;
  }
}

/** luo_get_id: the handler's id for the file, or the file itself. */
function idOf(fh: LiveupdateFileHandler, file: LiveFile): unknown {
  return fh.ops.getId ? fh.ops.getId(file) : file;
}

/** The entry words `deserialize` reads into, one entry at a time. */
const entryWords = new Uint32Array(4);

/**
 * The files of one session (struct luo_file_set) and a block set of
 * `struct luo_file_ser` sized to them. An outgoing set keeps a record per
 * file in preservation order; an incoming one is a range of the kernel's
 * `HandedOverFiles` (`#first`, `#handed` entries, of which `#left` are not
 * finished yet).
 */
export class LuoFileSet {
  readonly files: LuoFile[] = [];
  #blocks: KhoBlockSet | null = null;
  #first = -1;
  #handed = 0;
  #left = 0;
  /**
   * Token index, made once the set holds TOKEN_INDEX_FROM files: the kernel
   * scans the list, which 100 000 files cannot afford; a map for each of
   * 100 000 ten-file sessions would cost more than the scan it saves.
   */
  #byToken: Map<bigint, LuoFile> | null = null;
  /** The same index for an incoming set, by entry. */
  #entryByToken: Map<bigint, number> | null = null;

  constructor(
    private readonly env: LuoEnv,
    private readonly handlers: LuoFileHandlers,
    private readonly flbs: LuoFlbRegistry,
  ) {}

  /** The block set of `struct luo_file_ser`, made on first use: most sessions of a large set have no files. */
  get blocks(): KhoBlockSet {
    this.#blocks ??= luoBlockSet(this.env, luo_file_ser.size);
    return this.#blocks;
  }

  get count(): number {
    return this.#first < 0 ? this.files.length : this.#left;
  }

  /** Every file the previous kernel handed over in this session, kept after finish (for reports). */
  get handedOver(): LuoFile[] {
    const table = this.handlers.handedOver;
    return Array.from({ length: this.#handed }, (_, k) => table.record(this.#first + k));
  }

  /** The first file with `token`, as a list scan finds it (a chain from another kernel may repeat a token). */
  #find(token: bigint): LuoFile | undefined {
    if (this.#byToken) return this.#byToken.get(token);
    for (const f of this.files) if (f.token === token) return f;
    return undefined;
  }

  #index(f: LuoFile): void {
    if (!this.#byToken?.has(f.token)) this.#byToken?.set(f.token, f);
  }

  #push(f: LuoFile): void {
    this.files.push(f);
    if (this.#byToken) this.#index(f);
    else if (this.files.length >= TOKEN_INDEX_FROM) {
      this.#byToken = new Map();
      for (const each of this.files) this.#index(each);
    }
  }

  #pop(): void {
    const f = this.files.pop();
    if (f && this.#byToken?.get(f.token) === f) this.#byToken.delete(f.token);
  }

  #args(f: LuoFile): LiveupdateFileOpArgs {
    return {
      handler: f.fh,
      env: this.env,
      retrieveStatus: f.retrieveStatus,
      file: f.file,
      serializedData: f.serializedData,
      privateData: f.privateData,
    };
  }

  /**
   * luo_preserve_file, in the kernel's order: duplicate token EEXIST; grow
   * the block set; fget (EBADF); the first handler that can preserve the
   * file (ENOENT); the global index (EBUSY); FLBs; the handler's preserve.
   * A failure undoes the earlier steps and shrinks the set back.
   */
  preserve(token: bigint, fget: () => LiveFile | null): void {
    if (this.#find(token)) throw new KhoError("EEXIST", `token ${hex(token)} already preserved in this session`);
    this.blocks.grow(this.count + 1);
    try {
      const file = fget();
      if (file === null) throw new KhoError("EBADF", "bad file descriptor");
      const fh = this.handlers.list.find((h) => h.ops.canPreserve(h, file));
      if (!fh) throw new KhoError("ENOENT", "no file handler can preserve this file");
      const id = idOf(fh, file);
      if (this.handlers.preservedIds.has(id)) throw new KhoError("EBUSY", "file is already preserved");
      this.handlers.preservedIds.add(id);
      try {
        this.flbs.filePreserve(fh);
        const f: LuoFile = {
          fh,
          token,
          file,
          serializedData: 0n,
          privateData: undefined,
          retrieveStatus: 0,
          retrieveError: null,
        };
        try {
          const args = this.#args(f);
          fh.ops.preserve(args);
          f.serializedData = args.serializedData;
          f.privateData = args.privateData;
        } catch (e) {
          this.flbs.fileUnpreserve(fh);
          throw e;
        }
        this.#push(f);
      } catch (e) {
        this.handlers.preservedIds.delete(id);
        throw e;
      }
    } catch (e) {
      this.blocks.shrink(this.count);
      throw e;
    }
  }

  /** luo_file_unpreserve_files: newest first, each through its handler and FLBs; then the blocks go. */
  unpreserveAll(): void {
    while (this.files.length > 0) {
      const f = this.files.at(-1)!;
      f.fh.ops.unpreserve(this.#args(f));
      this.flbs.fileUnpreserve(f.fh);
      this.handlers.preservedIds.delete(idOf(f.fh, f.file!));
      this.#pop();
      this.blocks.shrink(this.count);
    }
    this.#blocks?.destroy();
  }

  /**
   * luo_file_freeze: no files leaves `file_set_ser` untouched. Otherwise
   * each file, oldest first, gets a block slot, its optional freeze op and
   * its entry; then `file_set_ser` = {head, count}. A failing freeze
   * unfreezes the files before it and clears every file block.
   */
  freeze(fileSetSerPa: number): void {
    if (this.count === 0) return;
    const it = this.blocks.iterator();
    const mem = this.env.mem;
    for (const f of this.files) {
      try {
        const slot = it.reserveEntry();
        if (slot === null) throw new KhoError("ENOSPC", "file block set is full");
        if (f.fh.ops.freeze) {
          const args = this.#args(f);
          f.fh.ops.freeze(args);
          f.serializedData = args.serializedData;
        }
        writeFileEntry(mem, slot, this.handlers.compatBytes(f.fh), f.serializedData, f.token);
      } catch (e) {
        if (isKhoError(e))
          this.env.log.warn(`Freeze failed for token[${hex(f.token)}] handler[${f.fh.compatible}] err[-${e.code}]`);
        this.unfreeze(f);
        throw e;
      }
    }
    // Two u64 stores at the layout's offsets, not a schema encode: one per session, 100 000 of them per kexec.
    mem.writeU64(fileSetSerPa + FILES_AT, this.blocks.headPa);
    mem.writeU64(fileSetSerPa + COUNT_AT, this.count);
  }

  /** __luo_file_unfreeze: files before `failed` (all when absent) unfrozen, serialized_data 0, blocks cleared. */
  unfreeze(failed?: LuoFile): void {
    for (const f of this.files) {
      if (f === failed) break;
      f.fh.ops.unfreeze?.(this.#args(f));
      f.serializedData = 0n;
    }
    this.#blocks?.clear();
  }

  /**
   * luo_file_deserialize: adopts the file chain and makes one entry per
   * slot; the number of entries must equal the serialised count (EINVAL),
   * and every entry needs a handler of its exact compatible (ENOENT).
   */
  deserialize(filesPa: number, count: bigint): void {
    if (filesPa === 0 && count === 0n) return;
    this.blocks.restore(filesPa);
    const it = this.blocks.iterator();
    const table = this.handlers.handedOver;
    const first = table.length;
    let n = 0;
    let missing: { at: number; compatible: string } | null = null;
    let compatible = "";
    let fh: LiveupdateFileHandler | undefined;
    for (let slot = it.readEntry(); slot !== null; slot = it.readEntry(), n++) {
      const c = readFileEntryWords(this.env.mem, slot, entryWords);
      // The files of a session mostly share a handler: look it up when the compatible changes.
      if (c !== compatible || !fh) [compatible, fh] = [c, this.handlers.find(c)];
      if (fh) table.append(fh, entryWords);
      else missing ??= { at: slot, compatible: c };
    }
    if (BigInt(n) !== count)
      throw new KhoError("EINVAL", `File count mismatch: file_set_ser.count ${count}, chain holds ${n}`);
    if (missing) throw new KhoError("ENOENT", `no file handler "${missing.compatible}"`, hex(missing.at));
    this.#handOver(first, n);
  }

  /** One entry per handed-over file of an older form, its handler found by exact compatible (ENOENT). */
  adopt(entries: readonly LuoFileEntry[]): void {
    const table = this.handlers.handedOver;
    const fhs = entries.map((e) => {
      const fh = this.handlers.find(e.compatible);
      if (!fh) throw new KhoError("ENOENT", `no file handler "${e.compatible}"`, hex(e.at));
      return fh;
    });
    const first = table.length;
    entries.forEach((e, k) => {
      [entryWords[0], entryWords[1]] = u32Halves(e.token);
      [entryWords[2], entryWords[3]] = u32Halves(e.data);
      table.append(fhs[k]!, entryWords);
    });
    this.#handOver(first, entries.length);
  }

  #handOver(first: number, n: number): void {
    if (this.#first >= 0 || this.files.length > 0)
      throw new KhoError("EEXIST", "file set already holds files; a session is handed over once");
    this.#first = first;
    this.#handed = n;
    this.#left = n;
  }

  /** The first handed-over entry with `token`, as a list scan finds it (a chain may repeat a token), or -1. */
  #findEntry(token: bigint): number {
    if (this.#entryByToken) return this.#entryByToken.get(token) ?? -1;
    if (this.#left >= TOKEN_INDEX_FROM) {
      const table = this.handlers.handedOver;
      this.#entryByToken = new Map();
      for (let i = this.#first; i < this.#first + this.#left; i++) {
        const t = table.token(i);
        if (!this.#entryByToken.has(t)) this.#entryByToken.set(t, i);
      }
      return this.#entryByToken.get(token) ?? -1;
    }
    // Not wrapped to 64 bits: a token outside u64 has a high half no u32 word holds, so it matches nothing.
    return this.handlers.handedOver.find(this.#first, this.#left, Number(token & 0xffff_ffffn), Number(token >> 32n));
  }

  /** The op arguments for handed-over entry `i`. */
  #entryArgs(i: number): LiveupdateFileOpArgs {
    const table = this.handlers.handedOver;
    return {
      handler: table.handler(i),
      env: this.env,
      retrieveStatus: table.status(i),
      file: table.file(i),
      serializedData: table.serializedData(i),
      privateData: table.privateData(i),
    };
  }

  /**
   * luo_retrieve_file: ENOENT for an unknown token; a failed retrieve fails
   * the same way again without calling the handler; a retrieved file is
   * returned again.
   */
  retrieve(token: bigint): LiveFile {
    const i = this.#first < 0 ? -1 : this.#findEntry(token);
    if (i < 0) throw new KhoError("ENOENT", `no file with token ${hex(token)}`);
    const table = this.handlers.handedOver;
    const failed = table.error(i);
    if (failed) throw failed;
    if (table.status(i) === 1) return table.file(i)!;
    const args = this.#entryArgs(i);
    try {
      args.handler.ops.retrieve(args);
    } catch (e) {
      if (!isKhoError(e)) throw e;
      table.failed(i, e);
      throw e;
    }
    table.retrieved(i, args.file, args.privateData);
    return args.file!;
  }

  /**
   * luo_file_finish: every `canFinish` asked first, oldest first (any false:
   * EBUSY, nothing done); then newest first the handler's finish, the FLB
   * puts, and the block set shrunk, finally destroyed.
   */
  finish(): void {
    if (this.count === 0) return;
    const table = this.handlers.handedOver;
    const last = this.#first + this.#left - 1;
    for (let i = this.#first; i <= last; i++) {
      const fh = table.handler(i);
      if (fh.ops.canFinish && !fh.ops.canFinish(this.#entryArgs(i)))
        throw new KhoError("EBUSY", `file with token ${hex(table.token(i))} cannot finish yet`);
    }
    for (let i = last; i >= this.#first; i--) {
      const fh = table.handler(i);
      fh.ops.finish(this.#entryArgs(i));
      this.flbs.fileFinish(fh);
      this.#left--;
      this.blocks.shrink(this.#left);
    }
    // Finished: the token index has nothing left to find.
    this.#entryByToken = null;
    this.#blocks?.destroy();
  }
}
