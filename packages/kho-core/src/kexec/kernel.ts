import { type Arch, checkArch, earlyMapMaxPages, lowAddressLimit } from "../arch.js";
import { KernelPanic, KhoError } from "../errors.js";
import { type HandoverRecord, KhoIn } from "../kho/in.js";
import { KhoOut } from "../kho/out.js";
import {
  DEFAULT_SCRATCH_PARAMS,
  type KernelReservation,
  type KhoScratch,
  kernelReservedBytes,
  parseKhoScratch,
  reserveScratch,
  type ScratchParams,
  SimMemblock,
  scratchAlignment,
} from "../kho/scratch.js";
import { KernelLog, type LogLevel, type ScopedLog } from "../log.js";
import { PageAllocator, type PhysRange } from "../mem/alloc.js";
import { getOrder } from "../mem/geometry.js";
import type { PhysMem } from "../mem/phys.js";
import { hex, parseSize } from "../units.js";
import { Cmdline, parseKhoEnable } from "./cmdline.js";
import { type HandoverFormat, handoverFormatOf } from "./handover.js";

/** The default command line: KHO on (the kernel's own default is off). */
export const DEFAULT_CMDLINE = "kho=on";

/** A kernel to boot: its identity and configuration. */
export interface KernelSpec {
  /** `uname -r`. */
  readonly release: string;
  readonly cmdline?: string;
  /**
   * The architecture the kernel is built for (default x86): it passes and
   * receives the handover as x86 setup_data or arm64 DT /chosen, and sets
   * the early mapping limit and ARCH_LOW_ADDRESS_LIMIT.
   */
  readonly arch?: Arch;
  /** CONFIG_KEXEC_HANDOVER_DEBUG: preservations overlapping scratch are refused. */
  readonly debug?: boolean;
  /** Bytes of the kernel image (text, data, bss). Default 32 MiB. */
  readonly imageSize?: number | string;
  /** Reproduce the radix depth before d64b0372760e (16 KiB pages lose order-0 keys). */
  readonly legacyRadixDepth?: boolean;
}

/** struct page is 64 bytes on x86-64 and arm64: the memmap costs 64 bytes per page. */
export const STRUCT_PAGE_SIZE = 64;
/** Where a cold boot loads the image (x86's LOAD_PHYSICAL_ADDR, 16 MiB), if RAM is there. */
export const COLD_IMAGE_BASE = 16 << 20;
export const DEFAULT_IMAGE_SIZE = 32 << 20;
/** Low memory every boot keeps out of the page allocator. */
export const LOW_RESERVED = 1 << 20;

export type BootKind = "cold" | "kho";
/**
 * What became of the handover a kernel was given: `honoured` when
 * kho_populate() accepted it and the reserve walk went through (whether or
 * not `kho=` is on), `rejected` when either failed, `none` without one.
 */
export type HandoverOutcome = "honoured" | "rejected" | "none";
export type KernelState = "booting" | "running" | "gone" | "panicked";

/**
 * Points in a boot where the code composing kernels (the plugin host) runs
 * its hooks. `early` runs while allocation is confined to scratch (KHO boot),
 * `restore` after the reserve walk (early_initcall time, where LUO reads its
 * incoming state), `khoInit` inside kho_init after the root FDT exists
 * (where kexec-metadata registers), `late` once the kernel is up.
 */
export interface BootHooks {
  early?(k: Kernel): void;
  restore?(k: Kernel): void;
  khoInit?(k: Kernel): void;
  late?(k: Kernel): void;
}

/** Where a booting kernel's image sits, and the handover it was given. */
export interface BootInput {
  readonly imagePa: number;
  readonly record: HandoverRecord | null;
  /** The record bytes as the loader passed them (x86 setup_data or DT). */
  readonly recordBytes: Uint8Array | null;
}

/**
 * One simulated kernel from boot to kexec (or panic): its page allocator,
 * log, command line, scratch areas and the two halves of KHO.
 */
export class Kernel {
  readonly log = new KernelLog();
  readonly kholog: ScopedLog;
  readonly cmdline: Cmdline;
  readonly alloc: PageAllocator;
  readonly imageSize: number;
  readonly arch: Arch;
  state: KernelState = "booting";
  bootKind: BootKind = "cold";
  handover: HandoverOutcome = "none";
  /** `kho=` as the early parameters leave it, until kho_reserve_scratch() or kho_init() turns it off. */
  khoEnabled = false;
  private scratchParams: ScratchParams = DEFAULT_SCRATCH_PARAMS;
  scratch: readonly KhoScratch[] = [];
  /** Where this kernel's own scratch array lives (memblock on cold boot, the kexec segment on KHO boot). */
  scratchArrayPa = 0;
  out: KhoOut | null = null;
  in: KhoIn | null = null;
  panicReason: string | null = null;

  constructor(
    readonly mem: PhysMem,
    readonly spec: KernelSpec,
    readonly generation: number,
  ) {
    this.kholog = this.log.scoped("KHO: ");
    this.cmdline = new Cmdline(spec.cmdline ?? DEFAULT_CMDLINE);
    this.alloc = new PageAllocator(mem);
    this.arch = checkArch(spec.arch ?? "x86");
    this.imageSize = parseSize(spec.imageSize ?? DEFAULT_IMAGE_SIZE, "imageSize");
  }

  get release(): string {
    return this.spec.release;
  }

  get handoverFormat(): HandoverFormat {
    return handoverFormatOf(this.arch);
  }

  /** ARCH_LOW_ADDRESS_LIMIT on this machine. */
  get lowAddressLimit(): number {
    const last = this.mem.ranges.at(-1)!;
    return lowAddressLimit(this.arch, last.start + last.size);
  }

  /** Stops the kernel as panic() would; the caller's hook is unwound by the throw. */
  panic(reason: string): never {
    this.state = "panicked";
    this.panicReason = reason;
    this.log.print("emerg", "", `Kernel panic - not syncing: ${reason}`);
    throw new KernelPanic(this.release, reason);
  }

  /** Bytes of struct page for one node's memory (its memmap). */
  private memmapBytes(nid: number): number {
    return this.mem.ranges
      .filter((r) => r.nid === nid)
      .reduce((s, r) => s + (r.size / this.mem.pageSize) * STRUCT_PAGE_SIZE, 0);
  }

  /**
   * parse_early_param(): `kho=` and `kho_scratch=` in command-line order,
   * each occurrence run by its handler; one that fails keeps the earlier
   * state. Both boot paths run it after kho_populate().
   */
  private parseEarlyParams(): void {
    const log = (line: string, level: LogLevel) => this.log.print(level, "KHO: ", line);
    this.cmdline.early(
      {
        kho: (v) => {
          this.khoEnabled = parseKhoEnable(v);
        },
        kho_scratch: (v) => {
          this.scratchParams = parseKhoScratch(v, this.scratchParams, log);
        },
      },
      (name) => this.log.print("warn", "", `Malformed early option '${name}'`),
    );
  }

  /**
   * A cold boot's early memory: memblock with the image and each node's
   * memmap reserved (top of the node, as sparse memmap allocation tends to
   * land), then KHO's scratch reservation sized from those bytes.
   */
  private coldMemblock(imagePa: number): PhysRange[] {
    const mb = new SimMemblock(this.mem, [{ start: imagePa, size: this.imageSize }]);
    const kern: KernelReservation[] = [
      { start: imagePa, size: this.imageSize, nid: this.mem.nidOf(imagePa / this.mem.pageSize) },
    ];
    for (const nid of this.mem.nodes) {
      const size = this.memmapBytes(nid);
      const pa = mb.alloc(size, this.mem.pageSize, { nid });
      if (pa === 0) this.panic(`Failed to allocate ${size} bytes of memmap for node ${nid}`);
      kern.push({ start: pa, size, nid });
    }
    if (this.khoEnabled) {
      const lowLimit = this.lowAddressLimit;
      const r = reserveScratch(this.mem, mb, {
        params: this.scratchParams,
        reserved: kernelReservedBytes(kern, lowLimit),
        alignment: scratchAlignment(this.mem),
        lowLimit,
        log: (line, level) => this.log.print(level, "KHO: ", line),
      });
      if (r) {
        this.scratch = r.areas;
        this.scratchArrayPa = r.arrayPa;
      } else this.khoEnabled = false;
    }
    return mb.reservations();
  }

  /**
   * Boots this kernel. A `record` that passes kho_populate() makes it a KHO
   * boot: early allocations stay in the inherited scratch until the reserve
   * walk; otherwise (no record, or a rejected one) it boots cold and
   * reserves new scratch. Neither kho_populate() nor the reserve walk looks
   * at `kho=`: with `kho=off` a handover is still honoured (every preserved
   * block stays reserved), and only kho_init() is skipped.
   */
  boot(input: BootInput, hooks: BootHooks = {}): void {
    const { mem, alloc } = this;
    // x86 never hands out the first MiB (real-mode and BIOS areas); page 0 would read as "no page" anyway.
    alloc.reserve(0, LOW_RESERVED);
    this.in = input.record
      ? KhoIn.populate(
          {
            mem,
            alloc,
            log: this.kholog,
            earlyMapMaxPages: earlyMapMaxPages(this.arch, mem.pageSize),
            legacyRadixDepth: this.spec.legacyRadixDepth ?? false,
          },
          input.record,
        )
      : null;
    this.parseEarlyParams();
    if (this.in) {
      this.bootKind = "kho";
      this.scratch = this.in.scratch;
      this.scratchArrayPa = this.in.scratchPa;
      alloc.reserve(input.imagePa, this.imageSize);
      for (const nid of mem.nodes) {
        const size = this.memmapBytes(nid);
        try {
          alloc.alloc(getOrder(size, mem.pageShift));
        } catch {
          this.panic(`Failed to allocate ${hex(size)} bytes of memmap for node ${nid} from KHO scratch`);
        }
      }
      hooks.early?.(this);
      this.in.memoryInit();
      if (!this.in.active) this.bootKind = "cold";
    } else {
      // A cold boot owns all of memory: whatever an earlier kernel left is garbage, not a trap.
      for (const r of mem.ranges) mem.unpoison(r.start / mem.pageSize, r.size / mem.pageSize);
      for (const r of this.coldMemblock(input.imagePa)) alloc.reserve(r.start, r.size);
      hooks.early?.(this);
    }
    if (input.record) this.handover = this.bootKind === "kho" ? "honoured" : "rejected";
    if (this.bootKind === "kho" && !this.khoEnabled)
      this.log.notes.push("kho=off: the handover is honoured, but kho_init() returns early (no outgoing KHO)");
    // Scratch becomes CMA: only movable (user) allocations, never kernel or KHO memory.
    for (const s of this.scratch) alloc.reserve(s.addr, s.size);
    hooks.restore?.(this);
    if (this.khoEnabled) this.khoInit(hooks);
    this.state = "running";
    hooks.late?.(this);
  }

  /**
   * kho_init()'s error path: the root FDT is unpreserved and freed, the
   * radix tree's pages freed, the scratch areas returned to the page
   * allocator, and KHO is off for the rest of this kernel's life.
   */
  private disableKho(reason: string): void {
    const out = this.out!;
    out.unpreserveFree(out.fdtPa);
    for (const pa of out.tree.nodePagePAs()) this.alloc.freeBlock(pa, 0);
    for (const s of this.scratch) this.alloc.release(s.addr, s.size);
    this.out = null;
    this.scratch = [];
    this.khoEnabled = false;
    this.log.notes.push(`kho_init() failed, KHO is off in this kernel: ${reason}`);
  }

  /** kho_init(): radix root, root FDT, then the hook (kexec-metadata), then out/fdt on a cold boot. */
  private khoInit(hooks: BootHooks): void {
    try {
      this.out = KhoOut.init({
        mem: this.mem,
        alloc: this.alloc,
        log: this.kholog,
        debug: this.spec.debug ?? false,
        scratch: this.scratch,
        legacyRadixDepth: this.spec.legacyRadixDepth ?? false,
      });
    } catch (e) {
      if (!(e instanceof KhoError)) throw e;
      this.log.notes.push(`kho_init() failed, KHO is off in this kernel: ${e.message}`);
      this.khoEnabled = false;
      return;
    }
    try {
      hooks.khoInit?.(this);
    } catch (e) {
      if (e instanceof KernelPanic || !(e instanceof KhoError)) throw e;
      this.disableKho(e.message);
      return;
    }
    if (this.bootKind === "cold")
      this.out.fdtFileLength = new DataView(this.out.fdt.buffer, this.out.fdt.byteOffset).getUint32(4, false);
  }
}
