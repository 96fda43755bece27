import { closeSync, openSync, writeSync } from "node:fs";
import { checkArch } from "../arch.js";
import { isKhoError, KhoError } from "../errors.js";
import { readInputFile } from "../fs/input.js";
import { decodeRecord, handoverFormatOf } from "../kexec/handover.js";
import { type BootHooks, COLD_IMAGE_BASE, DEFAULT_IMAGE_SIZE, type Kernel, type KernelSpec } from "../kexec/kernel.js";
import { type Handover, Machine } from "../kexec/machine.js";
import type { HandoverRecord } from "../kho/in.js";
import { IntervalSet } from "../mem/intervals.js";
import type { PhysMem } from "../mem/phys.js";
import { hex, parseSize } from "../units.js";
import {
  archOfFormat,
  decodeImage,
  encodeImageChunks,
  type HandoverImage,
  type ImageArch,
  type ImageKexecSegment,
  type ImageLoad,
  type ImageRecord,
  type ImageSeededRun,
} from "./format.js";

export interface CaptureOptions {
  /** The record to carry; none by default (a plain memory snapshot). */
  readonly record?: ImageRecord | null;
  /** Default: the running kernel's release, if any. */
  readonly release?: string | null;
  readonly segments?: readonly ImageKexecSegment[];
  /** Default: from the record's format, else from the running kernel's handover format. */
  readonly arch?: ImageArch;
  /** Page frames the machine owns; default every RAM page that is not poisoned. */
  readonly owned?: IntervalSet;
}

/** Page frames that are RAM and not poisoned. */
export function ownedPages(mem: PhysMem): IntervalSet {
  const owned = new IntervalSet();
  const ps = mem.pageSize;
  for (const r of mem.ranges) {
    const start = r.start / ps;
    const end = (r.start + r.size) / ps;
    // Nothing poisoned (a machine that never kexec'd): the whole range, no scan.
    if (mem.poisonedPages === 0) {
      owned.add(start, end);
      continue;
    }
    let run = -1;
    for (let pfn = start; pfn < end; pfn++) {
      if (mem.isPoisoned(pfn)) {
        if (run >= 0) owned.add(run, pfn);
        run = -1;
      } else if (run < 0) run = pfn;
    }
    if (run >= 0) owned.add(run, end);
  }
  return owned;
}

/**
 * The loads for a set of owned page frames: within each run of owned pages
 * (never across a RAM range boundary), every run of written pages becomes
 * file data and the unwritten owned pages after it become that load's
 * zero-filled tail; owned pages before the first written one get a load of
 * their own with no file bytes.
 */
function buildLoads(mem: PhysMem, owned: IntervalSet): ImageLoad[] {
  const ps = mem.pageSize;
  const populated = mem.populatedPfns();
  const loads: ImageLoad[] = [];
  let i = 0;
  for (const r of mem.ranges) {
    for (const [os, oe] of owned.intervalsIn(r.start / ps, (r.start + r.size) / ps)) {
      let pending: { start: number; data: number; zero: number } | null = null;
      const flush = (): void => {
        if (!pending) return;
        const pa = pending.start * ps;
        loads.push({
          pa,
          memsz: (pending.data + pending.zero) * ps,
          data: pending.data ? mem.read(pa, pending.data * ps) : new Uint8Array(0),
        });
        pending = null;
      };
      while (i < populated.length && populated[i]! < os) i++;
      let cur = os;
      while (cur < oe) {
        const p = i < populated.length && populated[i]! < oe ? populated[i]! : oe;
        if (p > cur) {
          if (pending) pending.zero += p - cur;
          else pending = { start: cur, data: 0, zero: p - cur };
          cur = p;
          continue;
        }
        let q = p;
        while (i < populated.length && populated[i] === q && q < oe) {
          i++;
          q++;
        }
        if (pending && pending.zero === 0) pending.data += q - p;
        else {
          flush();
          pending = { start: p, data: q - p, zero: 0 };
        }
        cur = q;
      }
      flush();
    }
  }
  return loads;
}

/**
 * Owned pages that still follow a seeded fill. They are not stored, so
 * buildLoads makes them zero tails; the runs say what they really hold.
 */
function seededRuns(mem: PhysMem, owned: IntervalSet): ImageSeededRun[] {
  const ps = mem.pageSize;
  const runs: ImageSeededRun[] = [];
  for (const r of mem.ranges)
    for (const [os, oe] of owned.intervalsIn(r.start / ps, (r.start + r.size) / ps))
      for (const s of mem.seededRuns(os, oe))
        runs.push({ pa: s.start * ps, size: (s.end - s.start) * ps, seed: s.seed });
  return runs;
}

/**
 * The machine's memory as it is now: every owned page (by default, every
 * page that is not poisoned), written pages as file data, plus whatever
 * record and segments the caller says the boot loader holds. Page contents
 * are copied, so the machine may go on running.
 */
export function captureImage(machine: Machine, opts: CaptureOptions = {}): HandoverImage {
  const mem = machine.mem;
  const record = opts.record ?? null;
  const owned = opts.owned ?? ownedPages(mem);
  return {
    arch: opts.arch ?? archOfFormat(record?.format ?? machine.kernel?.handoverFormat ?? "x86"),
    machine: { pageSize: mem.pageSize, ram: mem.ranges.map((r) => ({ ...r })) },
    release: opts.release === undefined ? (machine.kernel?.release ?? null) : opts.release,
    record: record ? { format: record.format, bytes: record.bytes.slice() } : null,
    segments: opts.segments ?? [],
    loads: buildLoads(mem, owned),
    seeded: seededRuns(mem, owned),
  };
}

/** What kexec kept readable for the next kernel: preserved blocks, radix node pages, segments. */
function keptAtJump(mem: PhysMem, h: Handover): IntervalSet {
  const ps = mem.pageSize;
  const kept = new IntervalSet();
  const out = h.from.out;
  if (out) {
    out.tree.walk((pa, order) => {
      kept.add(pa / ps, pa / ps + 2 ** order);
      return 0;
    });
    for (const pa of out.tree.nodePagePAs()) kept.add(pa / ps, pa / ps + 1);
  }
  for (const s of h.segments) kept.add(Math.floor(s.pa / ps), Math.ceil((s.pa + s.size) / ps));
  return kept;
}

function segmentKind(what: string): ImageKexecSegment["kind"] {
  return what === "kernel image" ? "kernel image" : what === "KHO scratch array" ? "scratch array" : "other";
}

/**
 * The handover image of a kexec that has just jumped, taken before the next
 * kernel writes anything (its `early` hook): memory as the outgoing kernel
 * left it (what it handed over and nothing else), the record it wrote, its
 * release and the loader's segments. The pages kept are recomputed from the
 * outgoing kernel's tree, so the image does not depend on what the next
 * kernel makes of the handover.
 */
export function jumpImage(machine: Machine, h: Handover): HandoverImage {
  return captureImage(machine, {
    record: h.recordBytes ? { format: h.from.handoverFormat, bytes: h.recordBytes } : null,
    release: h.from.release,
    arch: archOfFormat(h.from.handoverFormat),
    segments: h.segments.map((s) => ({ kind: segmentKind(s.what), pa: s.pa, size: s.size })),
    owned: keptAtJump(machine.mem, h),
  });
}

/**
 * kexec into `spec` and capture the handover image at the jump (jumpImage),
 * in the next kernel's `early` hook before that hook's own work. The
 * machine then goes on booting `spec`.
 */
export function kexecToImage(
  machine: Machine,
  spec: KernelSpec,
  hooks: BootHooks = {},
): { kernel: Kernel; image: HandoverImage } {
  const box: { image?: HandoverImage } = {};
  const kernel = machine.kexec(spec, {
    ...hooks,
    early(k) {
      box.image = jumpImage(machine, machine.handovers[machine.handovers.length - 1]!);
      hooks.early?.(k);
    },
  });
  if (!box.image) throw new KhoError("EPROTO", "the next kernel never reached its early hook", spec.release);
  return { kernel, image: box.image };
}

/**
 * A new machine with the image's page size and RAM: every load's bytes
 * written, its zero tail owned and unwritten except for the seeded runs,
 * which get their fill again, and every page no load covers poisoned (the
 * machine did not own it when the image was taken).
 */
export function loadImage(image: HandoverImage, what = "the image"): Machine {
  const machine = new Machine({ pageSize: image.machine.pageSize, ram: image.machine.ram });
  const mem = machine.mem;
  const ps = mem.pageSize;
  const covered = new IntervalSet();
  for (const l of image.loads) covered.add(l.pa / ps, (l.pa + l.memsz) / ps);
  // Poison first, while no page holds data: poisoning then costs nothing per page.
  for (const r of mem.ranges) {
    let at = r.start / ps;
    const end = (r.start + r.size) / ps;
    for (const [s, e] of covered.intervalsIn(at, end)) {
      if (s > at) mem.poison(at, s - at, `not in ${what}`);
      at = e;
    }
    if (at < end) mem.poison(at, end - at, `not in ${what}`);
  }
  for (const l of image.loads) if (l.data.length) mem.write(l.pa, l.data);
  for (const r of image.seeded) mem.fillSeeded(r.pa, r.size, r.seed);
  return machine;
}

/** Where a booted kernel's image sits: the loader's segment, else where a cold boot puts it. */
function imagePaFor(image: HandoverImage, size: number): number {
  const seg = image.segments.find((s) => s.kind === "kernel image");
  if (seg) return seg.pa;
  for (const r of image.machine.ram) {
    const base = Math.max(r.start, COLD_IMAGE_BASE);
    if (base + size <= r.start + r.size) return base;
  }
  throw new KhoError("ENOMEM", `no RAM for a ${hex(size)}-byte kernel image`);
}

export interface ImageBoot {
  readonly machine: Machine;
  readonly kernel: Kernel;
  /** The record as the kernel's handover format reads it; null when it finds none (it boots cold). */
  readonly record: HandoverRecord | null;
}

/**
 * Restores the image into a new machine (loadImage) and boots `spec` with
 * the image's record, as the boot loader would hand it over: the kernel
 * reads the bytes in its own handover format, and a record it cannot read
 * is no record (a cold boot).
 */
export function bootFromImage(image: HandoverImage, spec: KernelSpec, hooks?: BootHooks): ImageBoot {
  const machine = loadImage(image);
  let record: HandoverRecord | null = null;
  if (image.record) {
    try {
      record = decodeRecord(handoverFormatOf(checkArch(spec.arch ?? "x86")), image.record.bytes);
    } catch (e) {
      if (!isKhoError(e)) throw e;
    }
  }
  const imagePa = imagePaFor(image, parseSize(spec.imageSize ?? DEFAULT_IMAGE_SIZE, "imageSize"));
  const kernel = machine.bootWith(spec, { imagePa, record, recordBytes: image.record?.bytes ?? null }, hooks);
  return { machine, kernel, record };
}

/** Writes the image chunk by chunk (no single buffer of the whole file). */
export function writeImageFile(path: string, image: HandoverImage): void {
  const fd = openSync(path, "w");
  try {
    for (const chunk of encodeImageChunks(image)) {
      let at = 0;
      while (at < chunk.length) at += writeSync(fd, chunk, at, chunk.length - at);
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads and validates an image file; a file that cannot be read is a FileError naming it. */
export function readImageFile(path: string): HandoverImage {
  return decodeImage(readInputFile(path));
}
