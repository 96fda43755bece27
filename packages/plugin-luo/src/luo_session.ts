import { hex, isKhoError, type KhoBlockSet, KhoError } from "@khosim/kho-core";
import { LIVEUPDATE_SESSION_NAME_LENGTH, luo_file_set_ser, luo_session_ser } from "./abi/index.js";
import { type LuoEnv, luoBlockSet, readCString, writeCString } from "./env.js";
import { type LuoFileEntry, type LuoFileHandlers, LuoFileSet } from "./luo_file.js";
import type { LuoFlbRegistry } from "./luo_flb.js";

/** Offsets of the fields every session reads or writes, looked up once. */
const FILE_SET_AT = luo_session_ser.offsetOf("file_set_ser");
const FILES_AT = FILE_SET_AT + luo_file_set_ser.offsetOf("files");
const COUNT_AT = FILE_SET_AT + luo_file_set_ser.offsetOf("count");

/** A session read from a form other than the block chain (the luo-v1 FDT reader). */
export interface HandedOverSession {
  readonly name: string;
  readonly files: readonly LuoFileEntry[];
}

/** One session (struct luo_session): a name and its files. */
export class LuoSession {
  /** Incoming sessions only: retrieved by userspace. */
  retrieved = false;
  /** Incoming sessions only: finished, its files given back. */
  finished = false;
  #files: LuoFileSet | null = null;

  constructor(
    readonly name: string,
    readonly incoming: boolean,
    private readonly newFileSet: () => LuoFileSet,
  ) {}

  /** The session's files, made on first use: a 510 000-session set need not hold 510 000 empty ones. */
  get files(): LuoFileSet {
    this.#files ??= this.newFileSet();
    return this.#files;
  }
}

export interface LuoSessionOptions {
  /**
   * Check for a duplicate name before growing the block set, so a refused
   * create never leaves an empty block behind (spec B.6). Off by default:
   * rc1 grows first.
   */
  readonly strict?: boolean;
}

/**
 * luo_session.c: the outgoing sessions (a list and a block set of
 * `struct luo_session_ser` kept one entry per session), the incoming ones
 * restored from the previous kernel's chain, reboot serialisation and
 * its rollback, and the serialisation lock that refuses every later
 * mutation.
 */
export class LuoSessions {
  /** Outgoing sessions by name, in creation order (the kernel's list). */
  readonly outgoing = new Map<string, LuoSession>();
  /** Incoming sessions by name, in chain order. */
  readonly incoming = new Map<string, LuoSession>();
  readonly blocks: KhoBlockSet;
  /** The incoming session chain, adopted at early boot, freed after deserialisation. */
  readonly incomingBlocks: KhoBlockSet;
  /** luo_session_serialize_rwsem held for write: set for good by a successful reboot serialisation. */
  serialized = false;
  #deserialized: { error: KhoError | null } | null = null;
  #legacy: readonly HandedOverSession[] | null = null;
  /** Every session the previous kernel handed over, in chain order, finished or not (for reports). */
  readonly handedOver: LuoSession[] = [];

  constructor(
    private readonly env: LuoEnv,
    private readonly handlers: LuoFileHandlers,
    private readonly flbs: LuoFlbRegistry,
    private readonly opts: LuoSessionOptions = {},
  ) {
    this.blocks = luoBlockSet(env, luo_session_ser.size);
    this.incomingBlocks = luoBlockSet(env, luo_session_ser.size);
  }

  /**
   * luo_session_serialize_rwsem taken for read, as every session operation
   * does. After a successful serialisation the kernel blocks there forever;
   * the simulator refuses with EBUSY instead.
   */
  readLock(): void {
    if (this.serialized)
      throw new KhoError("EBUSY", "sessions are serialised for the kexec: the session lock is held for write");
  }

  readonly #newFileSet = (): LuoFileSet => new LuoFileSet(this.env, this.handlers, this.flbs);

  /**
   * luo_session_create: grow the session set to count + 1, then look for a
   * duplicate name (EEXIST). rc1 keeps the grown block on EEXIST; `strict`
   * checks first.
   */
  create(name: string): LuoSession {
    this.readLock();
    // The kernel scans its list; a map keeps 100 000 sessions fast and finds the same.
    const dup = () => this.outgoing.has(name);
    if (this.opts.strict && dup()) throw new KhoError("EEXIST", `session "${name}" exists`, name);
    this.blocks.grow(this.outgoing.size + 1);
    if (dup()) throw new KhoError("EEXIST", `session "${name}" exists`, name);
    const s = new LuoSession(name, false, this.#newFileSet);
    this.outgoing.set(name, s);
    return s;
  }

  /** Closing an outgoing session: its files unpreserved newest first, then it leaves the set. */
  close(s: LuoSession): void {
    this.readLock();
    s.files.unpreserveAll();
    this.outgoing.delete(s.name);
    this.blocks.shrink(this.outgoing.size);
  }

  /**
   * luo_session_setup_incoming: adopt the previous kernel's session chain.
   * Errors are fatal to the caller (the kernel panics).
   */
  setupIncoming(sessionsPa: number): void {
    this.incomingBlocks.restore(sessionsPa);
  }

  /** Whether the first open deserialised the incoming sessions, and the error it cached if it failed. */
  get deserialization(): { readonly done: boolean; readonly error: KhoError | null } {
    return { done: this.#deserialized !== null, error: this.#deserialized?.error ?? null };
  }

  /** Sessions an older form handed over, deserialised at the first open like the chain would be. */
  adoptHandedOver(sessions: readonly HandedOverSession[]): void {
    this.#legacy = sessions;
  }

  /** `where`: the entry's address, or the name for an older form; formatted only for an error. */
  #add(name: string, where: string | number): LuoSession {
    if (this.incoming.has(name))
      throw new KhoError(
        "EEXIST",
        `duplicate incoming session "${name}"`,
        typeof where === "number" ? hex(where) : where,
      );
    const s = new LuoSession(name, true, this.#newFileSet);
    this.incoming.set(name, s);
    this.handedOver.push(s);
    return s;
  }

  /**
   * luo_session_deserialize, once per boot (the first open of the device):
   * one session per entry (a name without NUL cut to 63 bytes; a duplicate
   * EEXIST), its file chain restored and read. The session blocks are then
   * given back. The result, success or the first error, is cached.
   */
  deserialize(): void {
    if (this.#deserialized) {
      if (this.#deserialized.error) throw this.#deserialized.error;
      return;
    }
    this.#deserialized = { error: null };
    try {
      for (const h of this.#legacy ?? []) this.#add(h.name, h.name).files.adopt(h.files);
      const it = this.incomingBlocks.iterator();
      const mem = this.env.mem;
      for (let slot = it.readEntry(); slot !== null; slot = it.readEntry()) {
        const s = this.#add(readCString(mem, slot, LIVEUPDATE_SESSION_NAME_LENGTH - 1), slot);
        s.files.deserialize(mem.readU64Number(slot + FILES_AT), mem.readU64(slot + COUNT_AT));
      }
      this.incomingBlocks.destroy();
    } catch (e) {
      if (!isKhoError(e)) throw e;
      this.#deserialized.error = e;
      throw e;
    }
  }

  /** LIVEUPDATE_IOCTL_RETRIEVE_SESSION: ENOENT unknown, EINVAL already retrieved. */
  retrieve(name: string): LuoSession {
    this.readLock();
    const s = this.incoming.get(name);
    if (!s) throw new KhoError("ENOENT", `no incoming session "${name}"`, name);
    if (s.retrieved) throw new KhoError("EINVAL", `session "${name}" already retrieved`, name);
    s.retrieved = true;
    return s;
  }

  /** Finishing an incoming session: its files finish; then it is gone. */
  finish(s: LuoSession): void {
    s.files.finish();
    s.finished = true;
    this.incoming.delete(s.name);
  }

  /**
   * luo_session_serialize (reboot): under the lock, `*sessionsPa` = 0, then
   * each session in list order gets a block slot, its files frozen and its
   * name; the chain head is published when there was at least one session.
   * On failure every earlier session is unfrozen, its name and file_set_ser
   * zeroed, the lock released and the error returned.
   */
  serialize(sessionsPaAt: number): void {
    this.readLock();
    const mem = this.env.mem;
    mem.writeU64(sessionsPaAt, 0);
    const it = this.blocks.iterator();
    const done: { s: LuoSession; slot: number }[] = [];
    try {
      for (const s of this.outgoing.values()) {
        const slot = it.reserveEntry();
        if (slot === null) throw new KhoError("ENOSPC", "session block set is full");
        s.files.freeze(slot + FILE_SET_AT);
        writeCString(mem, slot, LIVEUPDATE_SESSION_NAME_LENGTH, s.name);
        done.push({ s, slot });
      }
    } catch (e) {
      for (const { s, slot } of done.reverse()) {
        s.files.unfreeze();
        mem.zero(slot, luo_session_ser.size);
      }
      throw e;
    }
    if (this.outgoing.size > 0) mem.writeU64(sessionsPaAt, this.blocks.headPa);
    this.serialized = true;
  }
}
