import { isKhoError } from "../errors.js";
import { decodeRecord } from "../kexec/handover.js";
import { hex } from "../units.js";
import { DIRECT_MAP_BASE, type HandoverImage, type ImageArch, type ImageSegmentKind } from "./format.js";

/** What `kho image info` shows, as plain JSON values (addresses as hex strings). */
export interface ImageInfo {
  readonly arch: ImageArch;
  readonly release: string | null;
  readonly machine: {
    readonly pageSize: number;
    readonly ram: readonly { readonly start: string; readonly size: string; readonly nid: number }[];
  };
  readonly record: {
    readonly format: "x86" | "dt";
    readonly bytes: number;
    /** The record as a kernel of that format reads it, or null when it finds no KHO data in it. */
    readonly decoded: {
      readonly fdtPa: string;
      readonly fdtSize: string;
      readonly scratchPa: string;
      readonly scratchSize: string;
    } | null;
    readonly error?: string;
  } | null;
  readonly kexecSegments: readonly { readonly kind: ImageSegmentKind; readonly pa: string; readonly size: string }[];
  readonly loads: readonly {
    readonly paddr: string;
    readonly vaddr: string;
    readonly filesz: string;
    readonly memsz: string;
  }[];
  /** Runs of the loads' zero-filled tails that hold a seeded fill (NT_KHOSIM_SEEDED). */
  readonly seeded: readonly { readonly pa: string; readonly size: string; readonly seed: string }[];
  readonly totals: {
    readonly loads: number;
    readonly fileBytes: number;
    readonly memBytes: number;
    readonly seededBytes: number;
  };
}

export function imageInfo(image: HandoverImage): ImageInfo {
  let record: ImageInfo["record"] = null;
  if (image.record) {
    const { format, bytes } = image.record;
    try {
      const r = decodeRecord(format, bytes);
      record = {
        format,
        bytes: bytes.length,
        decoded: r && {
          fdtPa: hex(r.fdtPa),
          fdtSize: hex(r.fdtSize),
          scratchPa: hex(r.scratchPa),
          scratchSize: hex(r.scratchSize),
        },
      };
    } catch (e) {
      if (!isKhoError(e)) throw e;
      record = { format, bytes: bytes.length, decoded: null, error: `${e.code}: ${e.message}` };
    }
  }
  const base = DIRECT_MAP_BASE[image.arch];
  return {
    arch: image.arch,
    release: image.release,
    machine: {
      pageSize: image.machine.pageSize,
      ram: image.machine.ram.map((r) => ({ start: hex(r.start), size: hex(r.size), nid: r.nid })),
    },
    record,
    kexecSegments: image.segments.map((s) => ({ kind: s.kind, pa: hex(s.pa), size: hex(s.size) })),
    loads: image.loads.map((l) => ({
      paddr: hex(l.pa),
      vaddr: hex(base + BigInt(l.pa)),
      filesz: hex(l.data.length),
      memsz: hex(l.memsz),
    })),
    seeded: image.seeded.map((r) => ({ pa: hex(r.pa), size: hex(r.size), seed: hex(r.seed) })),
    totals: {
      loads: image.loads.length,
      fileBytes: image.loads.reduce((s, l) => s + l.data.length, 0),
      memBytes: image.loads.reduce((s, l) => s + l.memsz, 0),
      seededBytes: image.seeded.reduce((s, r) => s + r.size, 0),
    },
  };
}
