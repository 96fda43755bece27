import { crc32 } from "node:zlib";
import { hex } from "@khosim/kho-core";
import { type PhysMem, seededBytes } from "@khosim/kho-core/mem";
import type { HugeFolio } from "./pool.js";

/** What a check of folio contents found. */
export interface ContentCheck {
  readonly folios: number;
  readonly bytes: number;
  /** The first bad address of each folio whose contents are not the fill (hex), at most 16. */
  readonly mismatches: readonly string[];
  readonly mismatchedFolios: number;
}

const MAX_LISTED = 16;

function folioBytes(mem: PhysMem, f: HugeFolio): number {
  return mem.pageSize * 2 ** f.order;
}

/**
 * The workload writes its guest memory: every folio gets the seeded fill
 * of `seed`, a function of the seed and the address (no host memory).
 */
export function fillFolios(mem: PhysMem, folios: readonly HugeFolio[], seed: number): number {
  let bytes = 0;
  for (const f of folios) {
    mem.fillSeeded(f.pa, folioBytes(mem, f), seed);
    bytes += folioBytes(mem, f);
  }
  return bytes;
}

/** Bytes read through the ordinary path per folio for the checksum. */
const SAMPLE = 256;

/**
 * Where in the folio the checksum window lies: a page and an offset
 * chosen from the folio's address, so a run of folios samples every page
 * position and every offset.
 */
function sampleAt(f: HugeFolio, pageSize: number): number {
  const h = Math.imul(f.pa / pageSize, 0x9e3779b1) >>> 0;
  const page = h % 2 ** f.order;
  const off = (Math.imul(h, 0x85ebca6b) >>> 0) % (pageSize / SAMPLE);
  return f.pa + page * pageSize + off * SAMPLE;
}

/**
 * Checks that every folio holds the seeded fill of `seed`, without a copy
 * of the data: the memory model compares the whole folio with the fill
 * (pages untouched since the fill match by construction, the others byte
 * for byte), and a 256-byte window per folio is read through the ordinary
 * read path and its crc32 compared with the crc32 of the same bytes
 * recomputed from the seed.
 */
export function verifyFolios(mem: PhysMem, folios: readonly HugeFolio[], seed: number): ContentCheck {
  const mismatches: string[] = [];
  let bad = 0;
  let bytes = 0;
  for (const f of folios) {
    const size = folioBytes(mem, f);
    bytes += size;
    let at = mem.compareSeeded(f.pa, size, seed);
    if (at < 0) {
      const pa = sampleAt(f, mem.pageSize);
      const pfn = Math.floor(pa / mem.pageSize);
      const want = crc32(seededBytes(seed, pfn, pa - pfn * mem.pageSize, SAMPLE));
      if (crc32(mem.read(pa, SAMPLE)) !== want) at = pa;
    }
    if (at < 0) continue;
    bad++;
    if (mismatches.length < MAX_LISTED) mismatches.push(hex(at));
  }
  return { folios: folios.length, bytes, mismatches, mismatchedFolios: bad };
}
