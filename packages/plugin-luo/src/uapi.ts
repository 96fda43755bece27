import { isKhoError, KhoError } from "@khosim/kho-core";
import {
  LIVEUPDATE_CMD_BASE,
  LIVEUPDATE_CMD_SESSION_BASE,
  LIVEUPDATE_IOCTL_CREATE_SESSION,
  LIVEUPDATE_IOCTL_RETRIEVE_SESSION,
  LIVEUPDATE_SESSION_FINISH,
  LIVEUPDATE_SESSION_GET_NAME,
  LIVEUPDATE_SESSION_NAME_LENGTH,
  LIVEUPDATE_SESSION_PRESERVE_FD,
  LIVEUPDATE_SESSION_RETRIEVE_FD,
  liveupdate_ioctl_create_session,
  liveupdate_session_finish,
  liveupdate_session_preserve_fd,
  liveupdate_session_retrieve_fd,
} from "./abi/index.js";
import { utf8Length } from "./env.js";
import type { LuoCore } from "./luo_core.js";
import type { LiveFile } from "./luo_file.js";
import type { LuoSession } from "./luo_session.js";

/**
 * One entry of an ioctl table: the command, the bytes the kernel reads
 * (`size`, of which `minSize` are required), the bytes it copies back at
 * most, and the operation on the argument buffer.
 */
interface IoctlOp {
  readonly cmd: number;
  readonly size: number;
  readonly minSize: number;
  readonly replySize: number;
  run(fd: number, arg: DataView, bytes: Uint8Array): void;
}

const NAME_AT = liveupdate_ioctl_create_session.offsetOf("name");
const FD_AT = liveupdate_ioctl_create_session.offsetOf("fd");
const TOKEN_AT = liveupdate_session_preserve_fd.offsetOf("token");

/** The name field as the kernel takes it: bytes up to the NUL, EINVAL when there is none. */
function nameIn(bytes: Uint8Array): string {
  const raw = bytes.subarray(NAME_AT, NAME_AT + LIVEUPDATE_SESSION_NAME_LENGTH);
  const end = raw.indexOf(0);
  if (end < 0) throw new KhoError("EINVAL", "session name has no NUL in its 64 bytes");
  return new TextDecoder().decode(raw.subarray(0, end));
}

/** What an open file descriptor of the simulated process refers to. */
type Open = { kind: "device" } | { kind: "session"; session: LuoSession } | { kind: "file"; file: LiveFile };
type OpenKind = Open["kind"];

/**
 * The userspace side of /dev/liveupdate (include/uapi/linux/liveupdate.h),
 * one method per ioctl, with a small fd table standing for the calling
 * process. Every misuse throws the KhoError carrying the kernel's errno.
 */
export class LiveupdateUapi {
  /**
   * The fd table, indexed by fd (numbers are handed out in increasing order
   * and never reused, so arrays fit): each fd's kind (undefined once
   * closed) and its session or file. Two arrays rather than an `Open` per
   * fd: a live update of a million files opens a million fds in each kernel.
   */
  readonly #kinds: (OpenKind | undefined)[] = [];
  readonly #targets: (LuoSession | LiveFile | null)[] = [];
  #nextFd = 3;

  constructor(private readonly luo: LuoCore) {}

  #install(kind: OpenKind, target: LuoSession | LiveFile | null): number {
    const fd = this.#nextFd++;
    this.#kinds[fd] = kind;
    this.#targets[fd] = target;
    return fd;
  }

  #kind(fd: number): OpenKind {
    const kind = this.#kinds[fd];
    if (!kind) throw new KhoError("EBADF", `fd ${fd} is not open`);
    return kind;
  }

  /** The fd as an `Open`, for the paths that take every kind. */
  #get(fd: number): Open {
    const kind = this.#kind(fd);
    if (kind === "device") return { kind };
    if (kind === "session") return { kind, session: this.#session(fd) };
    return { kind, file: this.file(fd) };
  }

  #device(fd: number): void {
    if (this.#kind(fd) !== "device") throw new KhoError("ENOTTY", `fd ${fd} is not /dev/liveupdate`);
  }

  #session(fd: number): LuoSession {
    if (this.#kind(fd) !== "session") throw new KhoError("ENOTTY", `fd ${fd} is not a session`);
    // #install stores a session under the "session" kind only.
    return this.#targets[fd] as LuoSession;
  }

  /** The device's ioctls (luo_ioctl_ops), indexed from LIVEUPDATE_CMD_BASE. */
  readonly #deviceOps: readonly IoctlOp[] = [
    {
      cmd: LIVEUPDATE_IOCTL_CREATE_SESSION,
      size: liveupdate_ioctl_create_session.size,
      minSize: NAME_AT + LIVEUPDATE_SESSION_NAME_LENGTH,
      replySize: liveupdate_ioctl_create_session.size,
      run: (fd, arg, bytes) => arg.setInt32(FD_AT, this.createSession(fd, nameIn(bytes)), true),
    },
    {
      cmd: LIVEUPDATE_IOCTL_RETRIEVE_SESSION,
      size: liveupdate_ioctl_create_session.size,
      minSize: NAME_AT + LIVEUPDATE_SESSION_NAME_LENGTH,
      replySize: liveupdate_ioctl_create_session.size,
      run: (fd, arg, bytes) => arg.setInt32(FD_AT, this.retrieveSession(fd, nameIn(bytes)), true),
    },
  ];

  /**
   * A session fd's ioctls, indexed from LIVEUPDATE_CMD_SESSION_BASE. The
   * GET_NAME entry is sized with the RETRIEVE_FD struct, as in rc1 (spec
   * B.8): 16 bytes are read, the 72-byte reply is copied back.
   */
  readonly #sessionOps: readonly IoctlOp[] = [
    {
      cmd: LIVEUPDATE_SESSION_PRESERVE_FD,
      size: liveupdate_session_preserve_fd.size,
      minSize: liveupdate_session_preserve_fd.size,
      replySize: liveupdate_session_preserve_fd.size,
      run: (fd, arg) => this.preserveFd(fd, arg.getInt32(FD_AT, true), arg.getBigUint64(TOKEN_AT, true)),
    },
    {
      cmd: LIVEUPDATE_SESSION_RETRIEVE_FD,
      size: liveupdate_session_retrieve_fd.size,
      minSize: liveupdate_session_retrieve_fd.size,
      replySize: liveupdate_session_retrieve_fd.size,
      run: (fd, arg) => arg.setInt32(FD_AT, this.retrieveFd(fd, arg.getBigUint64(TOKEN_AT, true)), true),
    },
    {
      cmd: LIVEUPDATE_SESSION_FINISH,
      size: liveupdate_session_finish.size,
      minSize: liveupdate_session_finish.size,
      replySize: liveupdate_session_finish.size,
      run: (fd) => this.finishSession(fd),
    },
    {
      cmd: LIVEUPDATE_SESSION_GET_NAME,
      size: liveupdate_session_retrieve_fd.size,
      minSize: liveupdate_session_retrieve_fd.size,
      replySize: liveupdate_ioctl_create_session.size,
      run: (fd, arg, bytes) => {
        if (arg.getUint32(4, true) !== 0) throw new KhoError("EINVAL", "GET_NAME reserved field is not 0");
        const name = new TextEncoder().encode(this.getName(fd));
        bytes.fill(0, NAME_AT, NAME_AT + LIVEUPDATE_SESSION_NAME_LENGTH);
        bytes.set(name.subarray(0, LIVEUPDATE_SESSION_NAME_LENGTH - 1), NAME_AT);
      },
    },
  ];

  /**
   * ioctl(fd, cmd, arg) with `arg` the caller's buffer. A number outside
   * the fd's table is EINVAL, a known number with other type bits ENOTTY;
   * the leading u32 size must reach the minimum (EINVAL), bytes past what
   * the kernel knows must be zero (E2BIG); the reply overwrites at most
   * min(size, reply size) bytes of `arg`.
   */
  ioctl(fd: number, cmd: number, arg: Uint8Array): void {
    const o = this.#get(fd);
    if (o.kind === "file") throw new KhoError("ENOTTY", `fd ${fd} has no LUO ioctls`);
    const [table, base] =
      o.kind === "device" ? [this.#deviceOps, LIVEUPDATE_CMD_BASE] : [this.#sessionOps, LIVEUPDATE_CMD_SESSION_BASE];
    const op = table[(cmd & 0xff) - base];
    if (!op) throw new KhoError("EINVAL", `ioctl number ${cmd & 0xff} is outside this fd's table`);
    if (op.cmd !== cmd) throw new KhoError("ENOTTY", `ioctl ${cmd.toString(16)} is not ${op.cmd.toString(16)}`);
    if (arg.length < 4) throw new KhoError("EFAULT", "ioctl argument shorter than its size field");
    const size = new DataView(arg.buffer, arg.byteOffset, 4).getUint32(0, true);
    if (size < op.minSize) throw new KhoError("EINVAL", `size ${size} is below the minimum ${op.minSize}`);
    if (size > arg.length) throw new KhoError("EFAULT", `size ${size} runs past the ${arg.length}-byte buffer`);
    if (arg.subarray(op.size, size).some((b) => b !== 0))
      throw new KhoError("E2BIG", `bytes past the ${op.size} this kernel knows are not zero`);
    const known = new Uint8Array(Math.max(op.size, op.replySize));
    known.set(arg.subarray(0, Math.min(size, op.size)));
    op.run(fd, new DataView(known.buffer), known);
    arg.set(known.subarray(0, Math.min(size, op.replySize)));
  }

  /** Gives the process a file (memfd_create, open) and returns its fd. */
  installFile(file: LiveFile): number {
    return this.#install("file", file);
  }

  /** The file behind an fd (what read/write on it would reach). */
  file(fd: number): LiveFile {
    if (this.#kind(fd) !== "file") throw new KhoError("EBADF", `fd ${fd} is not a file`);
    // #install stores a file under the "file" kind only.
    return this.#targets[fd] as LiveFile;
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
    return this.#install("device", null);
  }

  /** LIVEUPDATE_IOCTL_CREATE_SESSION: a name of 1 to 63 bytes (EINVAL), unique (EEXIST). */
  createSession(devFd: number, name: string): number {
    this.#device(devFd);
    this.luo.sessions.readLock();
    const len = utf8Length(name);
    if (len === 0 || len >= LIVEUPDATE_SESSION_NAME_LENGTH || name.includes("\0"))
      throw new KhoError("EINVAL", `session name of ${len} bytes`, name);
    return this.#install("session", this.luo.sessions.create(name));
  }

  /** LIVEUPDATE_IOCTL_RETRIEVE_SESSION: ENOENT unknown, EINVAL already retrieved. */
  retrieveSession(devFd: number, name: string): number {
    this.#device(devFd);
    this.luo.sessions.readLock();
    return this.#install("session", this.luo.sessions.retrieve(name));
  }

  /** LIVEUPDATE_SESSION_PRESERVE_FD: outgoing sessions only (EINVAL). */
  preserveFd(sessionFd: number, fd: number, token: bigint): void {
    const s = this.#session(sessionFd);
    this.luo.sessions.readLock();
    if (s.incoming) throw new KhoError("EINVAL", "PRESERVE_FD on a retrieved session", s.name);
    s.files.preserve(token, () => (this.#kinds[fd] === "file" ? this.#targets[fd]! : null));
  }

  /** LIVEUPDATE_SESSION_RETRIEVE_FD: incoming sessions only (EINVAL); a new fd to the file. */
  retrieveFd(sessionFd: number, token: bigint): number {
    const s = this.#session(sessionFd);
    this.luo.sessions.readLock();
    if (!s.incoming) throw new KhoError("EINVAL", "RETRIEVE_FD on an outgoing session", s.name);
    return this.installFile(s.files.retrieve(token));
  }

  /** LIVEUPDATE_SESSION_FINISH: incoming sessions only (EINVAL); EBUSY when a file cannot finish yet. */
  finishSession(sessionFd: number): void {
    const s = this.#session(sessionFd);
    this.luo.sessions.readLock();
    if (!s.incoming) throw new KhoError("EINVAL", "FINISH on an outgoing session", s.name);
    this.luo.sessions.finish(s);
  }

  /** LIVEUPDATE_SESSION_GET_NAME: either kind of session. */
  getName(sessionFd: number): string {
    const s = this.#session(sessionFd);
    this.luo.sessions.readLock();
    return s.name;
  }

  /**
   * close(): the device becomes free again; an outgoing session is closed
   * (its files unpreserved); a retrieved session is finished, and if that
   * fails the error is returned and the session stays.
   */
  close(fd: number): void {
    const o = this.#get(fd);
    if (o.kind === "session") this.luo.sessions.readLock();
    try {
      if (o.kind === "device") this.luo.deviceOpen = false;
      if (o.kind !== "session") return;
      if (!o.session.incoming) this.luo.sessions.close(o.session);
      else if (this.luo.sessions.incoming.get(o.session.name) === o.session) this.luo.sessions.finish(o.session);
    } finally {
      this.#kinds[fd] = undefined;
      this.#targets[fd] = null;
    }
  }
}
