import { isKhoError, KhoError } from "@khosim/kho-core";
import { LIVEUPDATE_SESSION_NAME_LENGTH } from "./abi/index.js";
import type { LuoCore } from "./luo_core.js";
import type { LiveFile } from "./luo_file.js";
import type { LuoSession } from "./luo_session.js";

/** What an open file descriptor of the simulated process refers to. */
type Open = { kind: "device" } | { kind: "session"; session: LuoSession } | { kind: "file"; file: LiveFile };

/**
 * The userspace side of /dev/liveupdate (include/uapi/linux/liveupdate.h),
 * one method per ioctl, with a small fd table standing for the calling
 * process. Every misuse throws the KhoError carrying the kernel's errno.
 */
export class LiveupdateUapi {
  readonly #fds = new Map<number, Open>();
  #nextFd = 3;

  constructor(private readonly luo: LuoCore) {}

  #install(o: Open): number {
    const fd = this.#nextFd++;
    this.#fds.set(fd, o);
    return fd;
  }

  #get(fd: number): Open {
    const o = this.#fds.get(fd);
    if (!o) throw new KhoError("EBADF", `fd ${fd} is not open`);
    return o;
  }

  #device(fd: number): void {
    if (this.#get(fd).kind !== "device") throw new KhoError("ENOTTY", `fd ${fd} is not /dev/liveupdate`);
  }

  #session(fd: number): LuoSession {
    const o = this.#get(fd);
    if (o.kind !== "session") throw new KhoError("ENOTTY", `fd ${fd} is not a session`);
    return o.session;
  }

  #unlessSerialised(): void {
    if (this.luo.sessions.serialized)
      throw new KhoError("EBUSY", "sessions are serialised for the kexec: the session lock is held for write");
  }

  /** Gives the process a file (memfd_create, open) and returns its fd. */
  installFile(file: LiveFile): number {
    return this.#install({ kind: "file", file });
  }

  /** The file behind an fd (what read/write on it would reach). */
  file(fd: number): LiveFile {
    const o = this.#get(fd);
    if (o.kind !== "file") throw new KhoError("EBADF", `fd ${fd} is not a file`);
    return o.file;
  }

  /**
   * open("/dev/liveupdate"): exclusive (EBUSY while open). The first open
   * deserialises the incoming sessions; a failure then makes this and
   * every later open fail with EIO.
   */
  open(): number {
    if (!this.luo.enabled || this.luo.luoSerPa === 0) throw new KhoError("ENOENT", "/dev/liveupdate does not exist");
    if (this.luo.deviceOpen) throw new KhoError("EBUSY", "/dev/liveupdate is already open");
    try {
      this.luo.sessions.deserialize();
    } catch (e) {
      if (!isKhoError(e)) throw e;
      throw new KhoError("EIO", `incoming sessions could not be deserialised: ${e.message}`);
    }
    this.luo.deviceOpen = true;
    return this.#install({ kind: "device" });
  }

  /** LIVEUPDATE_IOCTL_CREATE_SESSION: a name of 1 to 63 bytes (EINVAL), unique (EEXIST). */
  createSession(devFd: number, name: string): number {
    this.#device(devFd);
    this.#unlessSerialised();
    const len = new TextEncoder().encode(name).length;
    if (len === 0 || len >= LIVEUPDATE_SESSION_NAME_LENGTH || name.includes("\0"))
      throw new KhoError("EINVAL", `session name of ${len} bytes`, name);
    return this.#install({ kind: "session", session: this.luo.sessions.create(name) });
  }

  /** LIVEUPDATE_IOCTL_RETRIEVE_SESSION: ENOENT unknown, EINVAL already retrieved. */
  retrieveSession(devFd: number, name: string): number {
    this.#device(devFd);
    this.#unlessSerialised();
    return this.#install({ kind: "session", session: this.luo.sessions.retrieve(name) });
  }

  /** LIVEUPDATE_SESSION_PRESERVE_FD: outgoing sessions only (EINVAL). */
  preserveFd(sessionFd: number, fd: number, token: bigint): void {
    const s = this.#session(sessionFd);
    this.#unlessSerialised();
    if (s.incoming) throw new KhoError("EINVAL", "PRESERVE_FD on a retrieved session", s.name);
    s.files.preserve(token, () => {
      const o = this.#fds.get(fd);
      return o?.kind === "file" ? o.file : null;
    });
  }

  /** LIVEUPDATE_SESSION_RETRIEVE_FD: incoming sessions only (EINVAL); a new fd to the file. */
  retrieveFd(sessionFd: number, token: bigint): number {
    const s = this.#session(sessionFd);
    this.#unlessSerialised();
    if (!s.incoming) throw new KhoError("EINVAL", "RETRIEVE_FD on an outgoing session", s.name);
    return this.installFile(s.files.retrieve(token));
  }

  /** LIVEUPDATE_SESSION_FINISH: incoming sessions only (EINVAL); EBUSY when a file cannot finish yet. */
  finishSession(sessionFd: number): void {
    const s = this.#session(sessionFd);
    this.#unlessSerialised();
    if (!s.incoming) throw new KhoError("EINVAL", "FINISH on an outgoing session", s.name);
    this.luo.sessions.finish(s);
  }

  /** LIVEUPDATE_SESSION_GET_NAME: either kind of session. */
  getName(sessionFd: number): string {
    const s = this.#session(sessionFd);
    this.#unlessSerialised();
    return s.name;
  }

  /**
   * close(): the device becomes free again; an outgoing session is closed
   * (its files unpreserved); a retrieved session is finished, and if that
   * fails the error is returned and the session stays.
   */
  close(fd: number): void {
    const o = this.#get(fd);
    if (o.kind === "session") this.#unlessSerialised();
    try {
      if (o.kind === "device") this.luo.deviceOpen = false;
      if (o.kind !== "session") return;
      if (!o.session.incoming) this.luo.sessions.close(o.session);
      else if (this.luo.sessions.incoming.get(o.session.name) === o.session) this.luo.sessions.finish(o.session);
    } finally {
      this.#fds.delete(fd);
    }
  }
}
