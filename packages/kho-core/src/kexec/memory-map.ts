import type { KhoOut } from "../kho/out.js";
import type { KhoScratch } from "../kho/scratch.js";
import { IntervalSet } from "../mem/intervals.js";
import type { PhysMem } from "../mem/phys.js";
import { hex } from "../units.js";

/**
 * What a page of physical memory is at one moment of a handover: a block a
 * plugin (or KHO itself) preserved, a page of the preserved-memory radix
 * tree, a scratch area, a kexec segment, or poison (memory the running
 * kernel does not own: after a kexec, everything that was not handed over).
 */
export const MEMORY_REGION_KINDS = ["poison", "scratch", "kexec-segment", "preserved", "radix-node"] as const;
export type MemoryRegionKind = (typeof MEMORY_REGION_KINDS)[number];

/** One run of pages of one kind (and, for preserved memory, one owner), addresses as hex. */
export interface MemoryRegion {
  readonly kind: MemoryRegionKind;
  readonly start: string;
  readonly size: string;
  /** Preserved memory: the plugin that preserved it, `kernel` for KHO's own, `unknown` when nothing says. */
  readonly owner?: string;
  /** Kexec segments: what the loader placed there ("kernel image", "KHO scratch array"). */
  readonly label?: string;
}

/** One NUMA node: its RAM ranges and the regions inside them, ascending by address. */
export interface MemoryMapNode {
  readonly nid: number;
  readonly ram: readonly { readonly start: string; readonly size: string }[];
  readonly regions: readonly MemoryRegion[];
}

/** The physical address space of a machine, per NUMA node. JSON as it is. */
export interface MemoryMap {
  readonly pageSize: number;
  readonly nodes: readonly MemoryMapNode[];
  /** Every owner of preserved memory, in order of first appearance. */
  readonly owners: readonly string[];
  /**
   * Present when the map held more than MEMORY_MAP_MAX_REGIONS regions after
   * merging: the smallest were left out, and this says how many and how
   * many bytes they covered.
   */
  readonly omitted?: { readonly regions: number; readonly bytes: number };
}

/**
 * The most regions a map keeps. Runs of one kind and owner are merged as
 * they are added, so a 1 TiB machine with huge page pools is a handful of
 * regions; only a machine preserving many scattered small blocks reaches
 * the cap, and then the map says what it left out.
 */
export const MEMORY_MAP_MAX_REGIONS = 4096;

/** Collects page runs by kind and owner; touching runs of one key merge as they are added. */
export class MemoryMapBuilder {
  private readonly sets = new Map<
    string,
    { kind: MemoryRegionKind; owner?: string; label?: string; set: IntervalSet }
  >();
  private readonly ownerOrder: string[] = [];

  constructor(private readonly mem: PhysMem) {}

  /** Adds the pages covering [pa, pa + size). */
  add(kind: MemoryRegionKind, pa: number, size: number, extra: { owner?: string; label?: string } = {}): void {
    if (size <= 0) return;
    const ps = this.mem.pageSize;
    this.addPages(kind, Math.floor(pa / ps), Math.ceil((pa + size) / ps), extra);
  }

  /** Adds page frames [start, end). */
  addPages(kind: MemoryRegionKind, start: number, end: number, extra: { owner?: string; label?: string } = {}): void {
    const key = `${kind}\0${extra.owner ?? ""}\0${extra.label ?? ""}`;
    let entry = this.sets.get(key);
    if (!entry) {
      entry = { kind, ...extra, set: new IntervalSet() };
      this.sets.set(key, entry);
      if (extra.owner !== undefined && !this.ownerOrder.includes(extra.owner)) this.ownerOrder.push(extra.owner);
    }
    entry.set.add(start, end);
  }

  /** Every poisoned run of the memory. */
  addPoison(): void {
    for (const [s, e] of this.mem.poisonedRuns()) this.addPages("poison", s, e);
  }

  addScratch(areas: readonly KhoScratch[]): void {
    for (const a of areas) this.add("scratch", a.addr, a.size);
  }

  addSegments(segments: readonly { readonly what: string; readonly pa: number; readonly size: number }[]): void {
    for (const s of segments) this.add("kexec-segment", s.pa, s.size, { label: s.what });
  }

  /** An outgoing side: each preserved block with the owner recorded at preserve time, and the tree's node pages. */
  addOutgoing(out: KhoOut): void {
    out.tree.walk((pa, order) => {
      this.add("preserved", pa, this.mem.pageSize * 2 ** order, { owner: out.ownerOf(pa, order) });
      return 0;
    });
    for (const pa of out.tree.nodePagePAs()) this.add("radix-node", pa, this.mem.pageSize);
  }

  build(): MemoryMap {
    const ps = this.mem.pageSize;
    type Raw = { kind: MemoryRegionKind; owner?: string; label?: string; start: number; end: number; nid: number };
    const raw: Raw[] = [];
    for (const { kind, owner, label, set } of this.sets.values())
      for (const r of this.mem.ranges)
        for (const [s, e] of set.intervalsIn(r.start / ps, (r.start + r.size) / ps))
          raw.push({
            kind,
            ...(owner !== undefined ? { owner } : {}),
            ...(label ? { label } : {}),
            start: s,
            end: e,
            nid: r.nid,
          });
    let kept = raw;
    let omitted: MemoryMap["omitted"];
    if (raw.length > MEMORY_MAP_MAX_REGIONS) {
      const bySize = [...raw].sort((a, b) => b.end - b.start - (a.end - a.start));
      kept = bySize.slice(0, MEMORY_MAP_MAX_REGIONS);
      const dropped = bySize.slice(MEMORY_MAP_MAX_REGIONS);
      omitted = { regions: dropped.length, bytes: dropped.reduce((n, x) => n + (x.end - x.start) * ps, 0) };
    }
    kept.sort((a, b) => a.start - b.start || MEMORY_REGION_KINDS.indexOf(a.kind) - MEMORY_REGION_KINDS.indexOf(b.kind));
    const nodes: MemoryMapNode[] = this.mem.nodes.map((nid) => ({
      nid,
      ram: this.mem.ranges.filter((r) => r.nid === nid).map((r) => ({ start: hex(r.start), size: hex(r.size) })),
      regions: kept
        .filter((x) => x.nid === nid)
        .map(({ kind, owner, label, start, end }) => ({
          kind,
          start: hex(start * ps),
          size: hex((end - start) * ps),
          ...(owner !== undefined ? { owner } : {}),
          ...(label !== undefined ? { label } : {}),
        })),
    }));
    return { pageSize: ps, nodes, owners: [...this.ownerOrder], ...(omitted ? { omitted } : {}) };
  }
}

/** What one moment of a machine shows: its memory, the outgoing KHO side, scratch and the loader's segments. */
export interface MemoryMapSources {
  readonly mem: PhysMem;
  readonly out: KhoOut | null;
  readonly scratch: readonly KhoScratch[];
  readonly segments?: readonly { readonly what: string; readonly pa: number; readonly size: number }[];
}

/** The memory map of a live machine: poison, scratch, segments, preserved blocks by owner, radix node pages. */
export function memoryMapOf(src: MemoryMapSources): MemoryMap {
  const b = new MemoryMapBuilder(src.mem);
  b.addPoison();
  b.addScratch(src.scratch);
  b.addSegments(src.segments ?? []);
  if (src.out) b.addOutgoing(src.out);
  return b.build();
}
