import { KhoError } from "../errors.js";
import type { HandoverRecord } from "../kho/in.js";
import { encodeScratchArray } from "../kho/scratch.js";
import { IntervalSet } from "../mem/intervals.js";
import { PhysMem, type RamRange } from "../mem/phys.js";
import { hex, parseSize } from "../units.js";
import { decodeRecord, encodeRecord } from "./handover.js";
import { type BootHooks, type BootInput, COLD_IMAGE_BASE, Kernel, type KernelSpec } from "./kernel.js";

/** A machine as users describe it: page size and RAM ranges with node ids. */
export interface MachineSpec {
  readonly pageSize: number | string;
  readonly ram: readonly { readonly start: number | string; readonly size: number | string; readonly nid?: number }[];
}

/** Default machine: 4 KiB pages, two NUMA nodes of 4 GiB each. */
export const DEFAULT_MACHINE: MachineSpec = {
  pageSize: "4KiB",
  ram: [
    { start: 0, size: "4GiB", nid: 0 },
    { start: "4GiB", size: "4GiB", nid: 1 },
  ],
};

/** A kexec segment: where the loader put a buffer for the next kernel. */
export interface Segment {
  readonly what: string;
  readonly pa: number;
  readonly size: number;
}

/** What a kexec handed over, kept for reports and images. */
export interface Handover {
  readonly from: Kernel;
  readonly record: HandoverRecord | null;
  readonly recordBytes: Uint8Array | null;
  readonly segments: readonly Segment[];
  /** Pages left readable: preserved blocks, radix node pages, segments. */
  readonly keptPages: number;
  readonly poisonedPages: number;
}

const SEGMENT_ALIGN = 64 << 10;

/**
 * The simulated machine: physical memory that outlives kernels, the kernel
 * running now, and every handover so far. `boot` is a cold boot; `kexec`
 * loads the next kernel into scratch, hands over the root FDT and scratch
 * array, poisons everything not handed over, and boots it.
 */
export class Machine {
  readonly mem: PhysMem;
  kernel: Kernel | null = null;
  readonly handovers: Handover[] = [];
  private generation = 0;

  constructor(spec: MachineSpec = DEFAULT_MACHINE) {
    const ram: RamRange[] = spec.ram.map((r) => ({
      start: parseSize(r.start, "ram.start"),
      size: parseSize(r.size, "ram.size"),
      nid: r.nid ?? 0,
    }));
    this.mem = new PhysMem(parseSize(spec.pageSize, "pageSize"), ram);
  }

  /** Cold boot (power on, or reset): no handover, every page the kernel's. */
  boot(spec: KernelSpec, hooks?: BootHooks): Kernel {
    if (this.kernel && this.kernel.state === "running") this.kernel.state = "gone";
    const k = new Kernel(this.mem, spec, ++this.generation);
    this.kernel = k;
    k.boot({ imagePa: this.coldImageBase(k.imageSize), record: null, recordBytes: null }, hooks);
    return k;
  }

  /**
   * Boots `spec` with a boot input the caller supplies, as a boot loader
   * does on a machine restored from a handover image: the record is what
   * the image carried, and whether it is accepted is the kernel's call.
   */
  bootWith(spec: KernelSpec, input: BootInput, hooks?: BootHooks): Kernel {
    if (this.kernel && this.kernel.state === "running") this.kernel.state = "gone";
    const k = new Kernel(this.mem, spec, ++this.generation);
    this.kernel = k;
    k.boot(input, hooks);
    return k;
  }

  private coldImageBase(size: number): number {
    for (const r of this.mem.ranges) {
      const base = Math.max(r.start, COLD_IMAGE_BASE);
      if (base + size <= r.start + r.size) return base;
    }
    throw new KhoError("ENOMEM", `no RAM for a ${hex(size)}-byte kernel image`);
  }

  /**
   * Places a buffer the way kexec_add_buffer does for a KHO image: in the
   * first scratch area (array order) where it fits, top-down, 64 KiB aligned,
   * clear of segments already placed. Without KHO, anywhere in RAM.
   */
  private placeSegment(
    areas: readonly { addr: number; size: number }[],
    used: Segment[],
    size: number,
    what: string,
  ): Segment {
    for (const a of areas) {
      let top = Math.floor((a.addr + a.size - size) / SEGMENT_ALIGN) * SEGMENT_ALIGN;
      while (top >= a.addr) {
        const clash = used.find((s) => top < s.pa + s.size && s.pa < top + size);
        if (!clash) {
          const seg = { what, pa: top, size };
          used.push(seg);
          return seg;
        }
        top = Math.floor((clash.pa - size) / SEGMENT_ALIGN) * SEGMENT_ALIGN;
      }
    }
    throw new KhoError(
      "ENOMEM",
      `kexec: no room for the ${what} (${hex(size)} bytes) in ${areas.length ? "KHO scratch" : "RAM"} (-EADDRNOTAVAIL)`,
    );
  }

  /**
   * kexec into `spec`. The running kernel's state must already be prepared
   * (the plugin host runs `prepare` before calling this). On a loader error
   * (no room for the segments) nothing changes and the error is thrown.
   */
  kexec(spec: KernelSpec, hooks?: BootHooks): Kernel {
    const old = this.kernel;
    if (old?.state !== "running") throw new KhoError("EINVAL", "kexec needs a running kernel");
    const next = new Kernel(this.mem, spec, this.generation + 1);
    const kho = old.khoEnabled && old.out !== null;
    const areas = kho ? old.scratch : this.mem.ranges.map((r) => ({ addr: r.start, size: r.size }));
    const used: Segment[] = [];
    const image = this.placeSegment(areas, used, next.imageSize, "kernel image");
    let record: HandoverRecord | null = null;
    if (kho) {
      const array = encodeScratchArray(old.scratch);
      const seg = this.placeSegment(areas, used, array.length, "KHO scratch array");
      record = { fdtPa: old.out!.fdtPa, fdtSize: this.mem.pageSize, scratchPa: seg.pa, scratchSize: array.length };
    }
    // Past this point the jump happens: the old kernel is gone.
    const kept = this.keptPages(old, used);
    const poisoned = this.poisonAllBut(kept, `not handed over by ${old.release}`);
    if (record) this.mem.write(record.scratchPa, encodeScratchArray(old.scratch));
    const recordBytes = record ? encodeRecord(old.handoverFormat, record) : null;
    this.handovers.push({
      from: old,
      record,
      recordBytes,
      segments: used,
      keptPages: kept.size,
      poisonedPages: poisoned,
    });
    old.state = "gone";
    this.generation++;
    this.kernel = next;
    const seen = recordBytes ? decodeRecord(next.handoverFormat, recordBytes) : null;
    next.boot({ imagePa: image.pa, record: seen, recordBytes }, hooks);
    return next;
  }

  /** Preserved blocks, the radix tree's node pages and the loaded segments, as page frames. */
  private keptPages(k: Kernel, segments: readonly Segment[]): IntervalSet {
    const ps = this.mem.pageSize;
    const kept = new IntervalSet();
    if (k.out) {
      k.out.tree.walk((pa, order) => {
        kept.add(pa / ps, pa / ps + 2 ** order);
        return 0;
      });
      for (const pa of k.out.tree.nodePagePAs()) kept.add(pa / ps, pa / ps + 1);
    }
    for (const s of segments) kept.add(Math.floor(s.pa / ps), Math.ceil((s.pa + s.size) / ps));
    return kept;
  }

  private poisonAllBut(kept: IntervalSet, reason: string): number {
    let n = 0;
    for (const r of this.mem.ranges) {
      let at = r.start / this.mem.pageSize;
      const end = (r.start + r.size) / this.mem.pageSize;
      for (const [s, e] of kept.intervalsIn(at, end)) {
        if (s > at) {
          this.mem.poison(at, s - at, reason);
          n += s - at;
        }
        at = e;
      }
      if (at < end) {
        this.mem.poison(at, end - at, reason);
        n += end - at;
      }
    }
    return n;
  }
}
