import { hex, KhoError } from "@khosim/kho-core";
import { LIVEUPDATE_FLB_COMPAT_LENGTH, LUO_FLB_PGCNT, luo_flb_header_ser, luo_flb_ser } from "./abi/index.js";
import type { LuoEnv } from "./env.js";
import { readCString, utf8Length, writeCString } from "./env.js";
import type { LiveupdateFileHandler } from "./luo_file.js";

/** What an FLB op sees and may set: `data` is what crosses the kexec, `obj` the live object. */
export interface LiveupdateFlbOpArgs {
  readonly flb: LiveupdateFlb;
  readonly env: LuoEnv;
  data: bigint;
  obj: unknown;
}

/** liveupdate_flb_ops: all four are required. Throw a KhoError to fail. */
export interface LiveupdateFlbOps {
  preserve(args: LiveupdateFlbOpArgs): void;
  unpreserve(args: LiveupdateFlbOpArgs): void;
  retrieve(args: LiveupdateFlbOpArgs): void;
  finish(args: LiveupdateFlbOpArgs): void;
}

/** A file-lifecycle-bound object: global state that lives while any file of its handlers is preserved. */
export interface LiveupdateFlb {
  readonly compatible: string;
  readonly ops: LiveupdateFlbOps;
}

interface OutgoingFlb {
  count: number;
  data: bigint;
  obj: unknown;
}

interface IncomingFlb {
  count: number;
  obj: unknown;
  retrieved: boolean;
  finished: boolean;
}

/**
 * luo_flb.c: FLB registration per file handler, outgoing refcounts (the
 * first preserved file calls `preserve`, the last unpreserved one
 * `unpreserve`), the FLB page written at reboot, and the incoming side:
 * the first get seeds the refcount with the serialised count and retrieves,
 * the last put finishes.
 */
export class LuoFlbRegistry {
  /** Registered FLBs, in registration order. */
  readonly #flbs: LiveupdateFlb[] = [];
  readonly #links = new Map<LiveupdateFileHandler, LiveupdateFlb[]>();
  readonly #outgoing = new Map<LiveupdateFlb, OutgoingFlb>();
  readonly #incoming = new Map<LiveupdateFlb, IncomingFlb>();
  #pagePa = 0;
  #incomingPa = 0;

  constructor(private readonly env: LuoEnv) {}

  /** LUO_FLB_MAX: entries that fit the FLB page after its header. */
  get max(): number {
    return Math.floor((this.env.mem.pageSize - luo_flb_header_ser.size) / luo_flb_ser.size);
  }

  get pagePa(): number {
    return this.#pagePa;
  }

  /** FLBs linked to a handler, in registration order. */
  linked(fh: LiveupdateFileHandler): readonly LiveupdateFlb[] {
    return this.#links.get(fh) ?? [];
  }

  /**
   * liveupdate_register_flb. All four ops are required (EINVAL); the handler
   * must be registered (checked by the caller, EINVAL); linking the same FLB twice, or another FLB with a known
   * compatible, is EEXIST; a new FLB past LUO_FLB_MAX is ENOSPC.
   */
  register(fh: LiveupdateFileHandler, flb: LiveupdateFlb): void {
    for (const op of ["preserve", "unpreserve", "retrieve", "finish"] as const)
      if (typeof flb.ops[op] !== "function") throw new KhoError("EINVAL", `FLB lacks ${op}`, flb.compatible);
    const links = this.#links.get(fh) ?? [];
    if (links.includes(flb)) throw new KhoError("EEXIST", `FLB ${flb.compatible} already linked`, fh.compatible);
    const known = this.#flbs.find((f) => f.compatible === flb.compatible);
    if (known !== undefined && known !== flb)
      throw new KhoError("EEXIST", `FLB compatible ${flb.compatible} already registered`, flb.compatible);
    if (flb.compatible.length === 0 || utf8Length(flb.compatible) >= LIVEUPDATE_FLB_COMPAT_LENGTH)
      throw new KhoError("EINVAL", `FLB compatible "${flb.compatible}" does not fit`, flb.compatible);
    if (known === undefined) {
      if (this.#flbs.length >= this.max) throw new KhoError("ENOSPC", `more than ${this.max} FLBs`, flb.compatible);
      this.#flbs.push(flb);
      this.#outgoing.set(flb, { count: 0, data: 0n, obj: undefined });
    }
    this.#links.set(fh, [...links, flb]);
  }

  /** luo_flb_setup_outgoing: one zeroed preserved page, `pgcnt` = 1. */
  setupOutgoing(): void {
    const pa = this.env.kho().allocPreserve(this.env.mem.pageSize);
    luo_flb_header_ser.writeAt(this.env.mem, pa, { pgcnt: BigInt(LUO_FLB_PGCNT), count: 0n });
    this.#pagePa = pa;
  }

  /** luo_flb_setup_incoming: remembers the FLB page of the previous kernel (0: none). */
  setupIncoming(flbsPa: number): void {
    this.#incomingPa = flbsPa;
  }

  /** A file of `fh` is being preserved: each linked FLB gains a reference; on failure the ones taken are released. */
  filePreserve(fh: LiveupdateFileHandler): void {
    const taken: LiveupdateFlb[] = [];
    try {
      for (const flb of this.linked(fh)) {
        const o = this.#outgoing.get(flb)!;
        if (o.count === 0) {
          const args = { flb, env: this.env, data: 0n, obj: undefined as unknown };
          flb.ops.preserve(args);
          o.data = args.data;
          o.obj = args.obj;
        }
        o.count++;
        taken.push(flb);
      }
    } catch (e) {
      for (const flb of taken.reverse()) this.#drop(flb);
      throw e;
    }
  }

  /** A file of `fh` is no longer preserved: the last reference calls `unpreserve`. */
  fileUnpreserve(fh: LiveupdateFileHandler): void {
    for (const flb of [...this.linked(fh)].reverse()) this.#drop(flb);
  }

  #drop(flb: LiveupdateFlb): void {
    const o = this.#outgoing.get(flb)!;
    if (--o.count > 0) return;
    flb.ops.unpreserve({ flb, env: this.env, data: o.data, obj: o.obj });
    o.data = 0n;
    o.obj = undefined;
  }

  /** The outgoing reference count of an FLB (files of linked handlers preserved). */
  outgoingCount(flb: LiveupdateFlb): number {
    return this.#outgoing.get(flb)?.count ?? 0;
  }

  /** luo_flb_serialize: every FLB with references, in registration order; then the header's count. */
  serialize(): void {
    const mem = this.env.mem;
    let n = 0;
    for (const flb of this.#flbs) {
      const o = this.#outgoing.get(flb)!;
      if (o.count === 0) continue;
      const at = this.#pagePa + luo_flb_header_ser.size + n * luo_flb_ser.size;
      writeCString(mem, at, LIVEUPDATE_FLB_COMPAT_LENGTH, flb.compatible);
      mem.writeU64(at + luo_flb_ser.offsetOf("data"), o.data);
      mem.writeU64(at + luo_flb_ser.offsetOf("count"), o.count);
      n++;
    }
    mem.writeU64(this.#pagePa + luo_flb_header_ser.offsetOf("count"), n);
  }

  /**
   * liveupdate_flb_get_incoming: the first call finds the FLB by name in the
   * previous kernel's page, seeds the refcount with its serialised count,
   * retrieves, and takes a reference for the caller; later calls return the
   * same object with one more reference.
   */
  getIncoming(flb: LiveupdateFlb): unknown {
    let i = this.#incoming.get(flb);
    if (i?.finished) throw new KhoError("ENODATA", `FLB ${flb.compatible} already finished`, flb.compatible);
    if (i === undefined) {
      const entry = this.#findIncoming(flb);
      i = { count: Number(entry.count), obj: undefined, retrieved: false, finished: false };
      const args = { flb, env: this.env, data: entry.data, obj: undefined as unknown };
      flb.ops.retrieve(args);
      i.obj = args.obj;
      i.retrieved = true;
      this.#incoming.set(flb, i);
    }
    i.count++;
    return i.obj;
  }

  /**
   * liveupdate_flb_put_incoming: drops one reference; the last one (after
   * retrieving, if nobody did) calls `finish`. Each finished file puts once
   * for every FLB its handler links.
   */
  putIncoming(flb: LiveupdateFlb): void {
    let i = this.#incoming.get(flb);
    if (i === undefined) {
      // rc1 seeds the count only inside the first retrieve (spec B.7): a put
      // before any get retrieves first, which seeds the serialised count.
      this.getIncoming(flb);
      i = this.#incoming.get(flb)!;
      i.count--;
    }
    if (i.finished) return;
    if (--i.count > 0) return;
    const entry = this.#findIncoming(flb);
    flb.ops.finish({ flb, env: this.env, data: entry.data, obj: i.obj });
    i.finished = true;
  }

  /** A file of `fh` finished in the new kernel: one put per linked FLB, newest link first. */
  fileFinish(fh: LiveupdateFileHandler): void {
    for (const flb of [...this.linked(fh)].reverse()) this.putIncoming(flb);
  }

  #findIncoming(flb: LiveupdateFlb): { data: bigint; count: bigint } {
    const pa = this.#incomingPa;
    if (pa === 0) throw new KhoError("ENODATA", "the previous kernel handed over no FLB page", flb.compatible);
    const mem = this.env.mem;
    const header = luo_flb_header_ser.readAt(mem, pa);
    const n = Math.min(Number(header.count), this.max);
    for (let k = 0; k < n; k++) {
      const at = pa + luo_flb_header_ser.size + k * luo_flb_ser.size;
      if (readCString(mem, at, LIVEUPDATE_FLB_COMPAT_LENGTH) !== flb.compatible) continue;
      return {
        data: mem.readU64(at + luo_flb_ser.offsetOf("data")),
        count: mem.readU64(at + luo_flb_ser.offsetOf("count")),
      };
    }
    throw new KhoError("ENOENT", `FLB ${flb.compatible} not in the incoming FLB page`, hex(pa));
  }
}
