import { hex, isKhoError, KhoError } from "@khosim/kho-core";
import { LUO_ABI_COMPATIBLE, LUO_KHO_ENTRY_NAME, luo_ser } from "./abi/index.js";
import type { LuoEnv } from "./env.js";
import { type LiveupdateFileHandler, LuoFileHandlers } from "./luo_file.js";
import { type LiveupdateFlb, LuoFlbRegistry } from "./luo_flb.js";
import { type LuoSessionOptions, LuoSessions } from "./luo_session.js";

/** The panic luo_restore_fail() prints for an incoming state that does not initialise. */
export function luoRestorePanic(code: string): string {
  return `The incoming tree failed to initialize properly [-${code}], disabling live update`;
}

/**
 * luo_core.c: the global LUO state of one kernel. Incoming: the `LUO`
 * blob checked and read at early_initcall (any failure panics). Outgoing:
 * `struct luo_ser`, the FLB page and the subtree at late_initcall, and
 * the reboot serialisation. Handlers and FLBs register here.
 */
export class LuoCore {
  readonly handlers = new LuoFileHandlers();
  readonly flbs: LuoFlbRegistry;
  readonly sessions: LuoSessions;
  /** liveupdate=on and KHO enabled. */
  enabled: boolean;
  /** liveupdate_num of the incoming blob; 0 on a cold boot or without a LUO subtree. */
  liveupdateNum = 0n;
  /** This kernel's `struct luo_ser`, 0 until late_initcall. */
  luoSerPa = 0;
  /** /dev/liveupdate is open. */
  deviceOpen = false;

  constructor(
    readonly env: LuoEnv,
    enabled: boolean,
    opts: LuoSessionOptions = {},
  ) {
    this.enabled = enabled;
    this.flbs = new LuoFlbRegistry(env);
    this.sessions = new LuoSessions(env, this.handlers, this.flbs, opts);
  }

  /** liveupdate_register_file_handler: EOPNOTSUPP while LUO is disabled. */
  registerFileHandler(fh: LiveupdateFileHandler): void {
    if (!this.enabled) throw new KhoError("EOPNOTSUPP", "live update is disabled", fh.compatible);
    this.handlers.register(fh);
  }

  /** liveupdate_register_flb: the handler must be registered first. */
  registerFlb(fh: LiveupdateFileHandler, flb: LiveupdateFlb): void {
    if (!this.enabled) throw new KhoError("EOPNOTSUPP", "live update is disabled", flb.compatible);
    if (!this.handlers.list.includes(fh))
      throw new KhoError("EINVAL", `file handler ${fh.compatible} is not registered`, flb.compatible);
    this.flbs.register(fh, flb);
  }

  /**
   * luo_early_startup for a `luo-v5` blob: size, compatible, then the
   * number, the session chain and the FLB page; the luo_ser page is given
   * back. Returns the error the kernel would panic with, null on success.
   */
  startup(phys: number, size: number): KhoError | null {
    const { env } = this;
    if (size < luo_ser.size) {
      env.log.err(`LUO state is too small (${size} < ${luo_ser.size})`);
      return new KhoError("EINVAL", `LUO blob-size ${size}`, hex(phys));
    }
    const raw = env.mem.read(phys, 8);
    const want = new TextEncoder().encode(LUO_ABI_COMPATIBLE);
    // strncmp over 8 bytes: equal up to and including the NUL.
    if (!want.every((b, i) => raw[i] === b) || raw[want.length] !== 0) {
      env.log.err(`LUO state is incompatible with '${LUO_ABI_COMPATIBLE}'`);
      return new KhoError("EINVAL", "LUO compatible", hex(phys));
    }
    this.liveupdateNum = env.mem.readU64(phys + luo_ser.offsetOf("liveupdate_num"));
    env.log.info(`Retrieved live update data, liveupdate number: ${this.liveupdateNum}`);
    try {
      this.sessions.setupIncoming(env.mem.readU64Number(phys + luo_ser.offsetOf("sessions_pa")));
    } catch (e) {
      if (isKhoError(e)) return e;
      throw e;
    }
    this.flbs.setupIncoming(env.mem.readU64Number(phys + luo_ser.offsetOf("flbs_pa")));
    env.khoIn?.restoreFree(phys);
    return null;
  }

  /**
   * luo_state_setup (late_initcall, LUO enabled): `struct luo_ser` in a
   * zeroed preserved page with liveupdate_num + 1, the FLB page, and the
   * `LUO` subtree. A failure disables LUO.
   */
  setupOutgoing(): void {
    const kho = this.env.kho();
    const pa = kho.allocPreserve(luo_ser.size);
    try {
      this.flbs.setupOutgoing();
      luo_ser.writeAt(this.env.mem, pa, {
        compatible: LUO_ABI_COMPATIBLE,
        liveupdate_num: this.liveupdateNum + 1n,
        sessions_pa: 0n,
        flbs_pa: BigInt(this.flbs.pagePa),
      });
      kho.addSubtree(LUO_KHO_ENTRY_NAME, pa, luo_ser.size);
    } catch (e) {
      if (this.flbs.pagePa) kho.unpreserveFree(this.flbs.pagePa);
      kho.unpreserveFree(pa);
      this.enabled = false;
      throw e;
    }
    this.luoSerPa = pa;
  }

  /** liveupdate_reboot: sessions, then FLBs. A failure aborts the kexec. */
  reboot(): void {
    if (!this.enabled || this.luoSerPa === 0) return;
    this.sessions.serialize(this.luoSerPa + luo_ser.offsetOf("sessions_pa"));
    this.flbs.serialize();
  }
}
