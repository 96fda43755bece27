import {
  definePlugin,
  defineSubtree,
  isKhoError,
  KhoError,
  type KhoPlugin,
  type PluginContext,
  type SubtreeVersion,
  serviceToken,
} from "@khosim/kho-core";
import { Cmdline } from "@khosim/kho-core/kexec";
import { z } from "zod";
import { LUO_ABI_COMPATIBLE, LUO_FDT_COMPATIBLE, luo_ser, luoV1, luoV5, memfdV2 } from "./abi/index.js";
import { luoActions } from "./actions.js";
import type { LuoEnv } from "./env.js";
import { describeLuoSer } from "./inspect.js";
import { LuoCore, luoRestorePanic } from "./luo_core.js";
import { readLuoV1 } from "./luo_fdt_v1.js";
import type { LiveupdateFileHandler } from "./luo_file.js";
import type { LiveupdateFlb } from "./luo_flb.js";
import { memfdHandler } from "./memfd.js";
import { type LuoHandoverReport, luoHandoverReport } from "./report.js";
import { LiveupdateUapi } from "./uapi.js";

/**
 * The compatible in the first 8 bytes (strncmp's view): the text up to the
 * first NUL, or null when the bytes are not a printable string.
 */
function identifyLuoSer(blob: Uint8Array): string | null {
  const head = blob.subarray(0, Math.min(blob.length, luo_ser.fields.compatible.size));
  const end = head.indexOf(0);
  const text = head.subarray(0, end < 0 ? head.length : end);
  if (text.length === 0 || text.some((b) => b < 0x20 || b > 0x7e)) return null;
  return new TextDecoder().decode(text);
}

export const luoSubtreeV5 = defineSubtree({ abi: luoV5, identify: identifyLuoSer, describe: describeLuoSer });
/** The luo-v1 FDT: identified by its root compatible; read only when a composition accepts it. */
export const luoSubtreeV1: SubtreeVersion = defineSubtree({ abi: luoV1 });

/** What other plugins call to plug into LUO: the same path for memfd and any third-party handler. */
export interface LuoRegistry {
  registerFileHandler(fh: LiveupdateFileHandler): void;
  registerFlb(fh: LiveupdateFileHandler, flb: LiveupdateFlb): void;
  /** liveupdate_flb_get_incoming: the FLB's object from the previous kernel, one more reference. */
  getIncomingFlb(flb: LiveupdateFlb): unknown;
  /** liveupdate_flb_put_incoming. */
  putIncomingFlb(flb: LiveupdateFlb): void;
}

export const LUO_REGISTRY = serviceToken<LuoRegistry>("luo");

/** LUO in one kernel: the core, and /dev/liveupdate for the workload. Set up by the `setup` hook. */
export class LuoState {
  #core: LuoCore | null = null;
  #uapi: LiveupdateUapi | null = null;

  get core(): LuoCore {
    if (!this.#core) throw new KhoError("EINVAL", "LUO is not set up in this kernel yet");
    return this.#core;
  }

  /** The ioctl surface, as a process that opens /dev/liveupdate sees it. */
  get uapi(): LiveupdateUapi {
    this.#uapi ??= new LiveupdateUapi(this.core);
    return this.#uapi;
  }

  attach(core: LuoCore): void {
    this.#core = core;
  }

  /** What the previous kernel's sessions and files became here; `final`: as of the next kexec. */
  handover(final = false): LuoHandoverReport {
    return luoHandoverReport(this.core, final);
  }
}

function envOf(ctx: PluginContext<LuoState>): LuoEnv {
  return {
    get mem() {
      return ctx.mem;
    },
    get alloc() {
      return ctx.alloc;
    },
    log: ctx.log,
    kho: () => ctx.kho,
    get khoIn() {
      return ctx.khoIn;
    },
  };
}

/** `liveupdate=` (off by default) and `kho=`: LUO runs only with both on. */
function cmdlineEnables(text: string): boolean {
  const cmdline = new Cmdline(text);
  return cmdline.bool("liveupdate", false) && cmdline.bool("kho", false);
}

export interface LuoPluginOptions {
  /** Check for a duplicate session name before growing the block set (what a fix of spec B.6 would do). */
  readonly strict?: boolean;
}

/** LuoPluginOptions as a scenario gives them (`kernels.A.options.luo: { strict: true }`). */
const luoOptionsSchema = z.strictObject({ strict: z.boolean().optional() });

/**
 * The LUO plugin: `setup` makes the core and provides the registry;
 * `restore` is luo_early_startup (a failure panics, quoting the kernel);
 * `refused` is the same panic for a blob of another version; `init` is
 * luo_state_setup (late_initcall); `prepare` is liveupdate_reboot.
 */
export function createLuoPlugin(opts: LuoPluginOptions = {}): KhoPlugin<LuoState> {
  return definePlugin<LuoState>({
    name: "luo",
    logPrefix: "luo: ",
    subtrees: [luoSubtreeV5, luoSubtreeV1],
    provides: [LUO_REGISTRY],
    initcall: "late",
    actions: luoActions,
    options: { schema: luoOptionsSchema, configure: (o) => createLuoPlugin(luoOptionsSchema.parse(o)) },
    state: () => new LuoState(),
    setup(ctx) {
      const core = new LuoCore(envOf(ctx), cmdlineEnables(ctx.kernel.cmdline), opts);
      ctx.state.attach(core);
      ctx.provide(LUO_REGISTRY, {
        registerFileHandler: (fh) => core.registerFileHandler(fh),
        registerFlb: (fh, flb) => core.registerFlb(fh, flb),
        getIncomingFlb: (flb) => core.flbs.getIncoming(flb),
        putIncomingFlb: (flb) => core.flbs.putIncoming(flb),
      });
    },
    incoming: {
      restore(ctx, sub) {
        // luo_early_startup: with KHO disabled, LUO is disabled and nothing is read.
        if (!ctx.khoEnabled) return;
        const core = ctx.state.core;
        if (sub.compatible === LUO_FDT_COMPATIBLE) {
          let state: ReturnType<typeof readLuoV1>;
          try {
            state = readLuoV1(core.env, sub.phys, sub.size);
          } catch (e) {
            if (!isKhoError(e)) throw e;
            return ctx.panic(luoRestorePanic("EINVAL"));
          }
          core.liveupdateNum = state.liveupdateNum;
          core.sessions.adoptHandedOver(state.sessions);
          return;
        }
        const err = core.startup(sub.phys, sub.size);
        if (err) ctx.panic(luoRestorePanic(err.code));
      },
      refused(ctx, sub) {
        if (sub.size < luo_ser.size) ctx.log.err(`LUO state is too small (${sub.size} < ${luo_ser.size})`);
        else ctx.log.err(`LUO state is incompatible with '${LUO_ABI_COMPATIBLE}'`);
        ctx.panic(luoRestorePanic("EINVAL"));
      },
    },
    outgoing: {
      init(ctx) {
        const core = ctx.state.core;
        if (!ctx.khoEnabled) core.enabled = false;
        if (!core.enabled) return;
        if (ctx.writer(luoV5.name) !== luoSubtreeV5)
          throw new KhoError("EOPNOTSUPP", `LUO writes only ${LUO_ABI_COMPATIBLE}`, luoV5.name);
        core.setupOutgoing();
      },
      prepare(ctx) {
        ctx.state.core.reboot();
      },
    },
  });
}

/** LUO as v7.2-rc1 has it. */
export const luoPlugin = createLuoPlugin();

/** mm/memfd_luo.c: registers the memfd handler through LUO's registry at its initcall. */
export const memfdLuoPlugin = definePlugin({
  name: "memfd-luo",
  abis: [memfdV2],
  dependsOn: ["luo"],
  setup(ctx) {
    const luo = ctx.service(LUO_REGISTRY);
    try {
      luo.registerFileHandler(memfdHandler);
    } catch (e) {
      // LUO disabled: the kernel's memfd_luo_init returns quietly.
      if (!isKhoError(e, "EOPNOTSUPP")) throw e;
    }
  },
});
