import { kho_scratch } from "../abi/index.js";
import { X86_LOW_ADDRESS_LIMIT } from "../arch.js";
import type { LogSink } from "../block/backend.js";
import { KhoError } from "../errors.js";
import type { PageGeometry } from "../mem/geometry.js";
import type { PhysMem } from "../mem/phys.js";
import { hex } from "../units.js";
import type { MemblockSource } from "./scratch-memblock.js";
import type { ScratchParams } from "./scratch-parse.js";

export * from "./scratch-memblock.js";
export * from "./scratch-parse.js";

/** One scratch area as handed over: `struct kho_scratch`. */
export interface KhoScratch {
  readonly addr: number;
  readonly size: number;
}

/**
 * CMA_MIN_ALIGNMENT_BYTES, one pageblock (2 MiB / 32 MiB / 512 MiB): the
 * unit scratch sizes are rounded up to and the alignment each area is
 * allocated with, so every area is whole CMA pageblocks.
 */
export function scratchAlignment(geometry: PageGeometry): number {
  return geometry.pageSize * 2 ** geometry.pageblockOrder;
}

/** A memblock reservation the kernel made for itself (MEMBLOCK_RSRV_KERN), with its node. */
export interface KernelReservation {
  readonly start: number;
  readonly size: number;
  readonly nid: number;
}

/**
 * Bytes the kernel reserved in memblock for itself (kernel image, early
 * allocations) before scratch is sized: memblock_reserved_kern_size().
 */
export interface KernelReservedBytes {
  /** Below ARCH_LOW_ADDRESS_LIMIT (regions clipped there), all nodes. */
  readonly belowLowLimit: number;
  /** Everywhere. */
  readonly total: number;
  /** Per node id; a node with memory that is missing here counts 0. */
  readonly perNode: Readonly<Record<number, number>>;
}

/** Scratch sizes before allocation, as u64 values (the kernel's arithmetic wraps). */
export interface ScratchSizes {
  readonly lowmem: bigint;
  readonly global: bigint;
  /** One per node with memory, ascending nid. */
  readonly nodes: readonly { readonly nid: number; readonly size: bigint }[];
}

/**
 * memblock_reserved_kern_size() for the limits scratch sizing asks about:
 * regions starting at or past `lowLimit` count nothing below it, one
 * crossing it counts `lowLimit - start`.
 */
export function kernelReservedBytes(regions: readonly KernelReservation[], lowLimit: number): KernelReservedBytes {
  const perNode: Record<number, number> = {};
  let belowLowLimit = 0;
  let total = 0;
  for (const r of regions) {
    if (r.start < lowLimit) belowLowLimit += Math.min(r.size, lowLimit - r.start);
    total += r.size;
    perNode[r.nid] = (perNode[r.nid] ?? 0) + r.size;
  }
  return { belowLowLimit, total, perNode };
}

function roundUpU64(x: bigint, align: bigint): bigint {
  // The kernel's round_up on u64: 0 stays 0 and values within one alignment
  // of 2^64 wrap to 0.
  return BigInt.asUintN(64, (BigInt.asUintN(64, x - 1n) | (align - 1n)) + 1n);
}

function checkAlignment(alignment: number, geometry: PageGeometry): void {
  if (!Number.isSafeInteger(alignment) || alignment < geometry.pageSize || (alignment & (alignment - 1)) !== 0) {
    throw new KhoError("EINVAL", `scratch alignment ${hex(alignment)} is not a power of two of at least one page`);
  }
}

function checkBytes(n: number, what: string): bigint {
  if (!Number.isSafeInteger(n) || n < 0) throw new KhoError("EINVAL", `${what}: ${n} is not a byte count`);
  return BigInt(n);
}

/**
 * Scratch sizes from the parameters. With a scale, lowmem is that share of
 * the kernel's reservations below the low limit, global the share of all
 * of them minus the lowmem share before rounding (the formula since
 * 0e39380a7316; u64 arithmetic, so a lowmem share above the total share
 * wraps), each node the share of its own. Without, the explicit sizes. All
 * are rounded up to `alignment` (explicit ones too, since 0e39380a7316).
 */
export function scratchSizes(
  params: ScratchParams,
  reserved: KernelReservedBytes,
  nodes: readonly number[],
  alignment: number,
): ScratchSizes {
  const align = BigInt(alignment);
  const scale = BigInt(params.scale);
  const share = (bytes: number, what: string) => BigInt.asUintN(64, checkBytes(bytes, what) * scale) / 100n;
  const lowmemRaw = params.scale ? share(reserved.belowLowLimit, "reserved below the low limit") : params.lowmem;
  const lowmem = roundUpU64(lowmemRaw, align);
  const global = roundUpU64(
    params.scale ? BigInt.asUintN(64, share(reserved.total, "reserved in total") - lowmemRaw) : params.global,
    align,
  );
  return {
    lowmem,
    global,
    nodes: nodes.map((nid) => ({
      nid,
      size: roundUpU64(
        params.scale ? share(reserved.perNode[nid] ?? 0, `reserved on node ${nid}`) : params.pernode,
        align,
      ),
    })),
  };
}

export interface ReserveScratchOptions {
  readonly params: ScratchParams;
  readonly reserved: KernelReservedBytes;
  /** Defaults to scratchAlignment(mem), CMA_MIN_ALIGNMENT_BYTES. */
  readonly alignment?: number;
  /** ARCH_LOW_ADDRESS_LIMIT; defaults to x86's. */
  readonly lowLimit?: number;
  /** Receives KHO's lines without the "KHO: " prefix. */
  readonly log?: LogSink;
}

/** What a cold boot reserved: the array (memblock memory holding `areas` encoded) and the areas. */
export interface ScratchReservation {
  readonly arrayPa: number;
  readonly areas: readonly KhoScratch[];
}

/**
 * kho_reserve_scratch() on a cold boot: the array first (one page-aligned
 * memblock allocation), then lowmem below the low limit, global anywhere,
 * one area per node with memory on that node, all aligned to `alignment`.
 * Any failure frees what was taken, logs why and that KHO is disabled, and
 * returns null. On success the array is written to memory.
 */
export function reserveScratch(
  mem: PhysMem,
  memblock: MemblockSource,
  opts: ReserveScratchOptions,
): ScratchReservation | null {
  const log = opts.log ?? (() => {});
  const alignment = opts.alignment ?? scratchAlignment(mem);
  checkAlignment(alignment, mem);
  const nodes = mem.nodes;
  const sizes = scratchSizes(opts.params, opts.reserved, nodes, alignment);
  const arrayBytes = (nodes.length + 2) * kho_scratch.size;
  const disable = (why: string): null => {
    log(why, "err");
    log("Failed to reserve scratch area, disabling kexec handover", "warn");
    return null;
  };

  const arrayPa = memblock.alloc(arrayBytes, mem.pageSize);
  if (arrayPa === 0) return disable("Failed to reserve scratch array");

  const wanted = [
    { size: sizes.lowmem, range: { end: opts.lowLimit ?? X86_LOW_ADDRESS_LIMIT }, what: "lowmem" },
    { size: sizes.global, range: {}, what: "global" },
    ...sizes.nodes.map((n) => ({ size: n.size, range: { nid: n.nid }, what: `nid ${n.nid}` })),
  ];
  const areas: KhoScratch[] = [];
  for (const w of wanted) {
    // A size past 53 bits cannot exist in simulated memory: the allocation fails.
    const addr = w.size > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : memblock.alloc(Number(w.size), alignment, w.range);
    if (addr === 0) {
      for (const a of [...areas].reverse()) memblock.free(a.addr, a.size);
      memblock.free(arrayPa, arrayBytes);
      return disable(`Failed to reserve ${w.what} scratch buffer`);
    }
    areas.push({ addr, size: Number(w.size) });
  }
  mem.write(arrayPa, encodeScratchArray(areas));
  return { arrayPa, areas };
}

/** The array as the kernel lays it out: `struct kho_scratch` back to back. */
export function encodeScratchArray(areas: readonly KhoScratch[]): Uint8Array {
  const out = new Uint8Array(areas.length * kho_scratch.size);
  for (const [i, a] of areas.entries())
    out.set(kho_scratch.encode({ addr: BigInt(a.addr), size: BigInt(a.size) }), i * kho_scratch.size);
  return out;
}

/**
 * Decodes `floor(length / sizeof(struct kho_scratch))` entries; trailing
 * bytes are ignored, as kho_populate() ignores them. Values past 53 bits are
 * ERANGE: no simulated machine has such addresses.
 */
export function decodeScratchArray(bytes: Uint8Array): KhoScratch[] {
  const count = Math.floor(bytes.length / kho_scratch.size);
  return Array.from({ length: count }, (_, i) => {
    const raw = kho_scratch.decode(bytes.subarray(i * kho_scratch.size));
    const end = raw.addr + raw.size;
    if (end > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new KhoError(
        "ERANGE",
        `scratch area ${hex(raw.addr)}+${hex(raw.size)} is beyond 53-bit addresses`,
        `kho_scratch[${i}]`,
      );
    }
    return { addr: Number(raw.addr), size: Number(raw.size) };
  });
}

/**
 * Reads and checks the array a previous kernel handed over (`bytes` as
 * mapped) for a KHO boot. The kernel itself only adds each area to
 * memblock; the simulator also requires every area to lie in RAM, since an
 * area outside RAM could not be allocated from (EINVAL naming the entry;
 * the caller reports it as a hazard).
 */
export function readInheritedScratch(mem: PhysMem, bytes: Uint8Array): KhoScratch[] {
  const areas = decodeScratchArray(bytes);
  areas.forEach((a, i) => {
    if (!coveredByRam(mem, a.addr, a.addr + a.size)) {
      throw new KhoError(
        "EINVAL",
        `inherited scratch area ${hex(a.addr)}+${hex(a.size)} is not RAM`,
        `kho_scratch[${i}]`,
      );
    }
  });
  return areas;
}

/** True when RAM ranges (adjacent ones may belong to different nodes) cover [start, end). */
function coveredByRam(mem: PhysMem, start: number, end: number): boolean {
  let at = start;
  for (const r of mem.ranges) {
    if (at >= end) break;
    if (r.start > at) return false;
    if (r.start + r.size > at) at = r.start + r.size;
  }
  return at >= end;
}
