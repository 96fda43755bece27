import {
  type BlobReport,
  decodeBlob,
  decodeRootFdt,
  type RootFdtReport,
  type ScratchReport,
} from "../debugfs/decode.js";
import { type FdtJsonNode, fdtJson } from "../debugfs/fdt-json.js";
import { MAX_DEBUGFS_BLOB } from "../debugfs/view.js";
import { isKhoError } from "../errors.js";
import { toDts } from "../fdt/dts.js";
import { be32 } from "../fdt/header.js";
import type { AnyPlugin } from "../host/plugin.js";
import { decodeRecord } from "../kexec/handover.js";
import { type MemoryMap, MemoryMapBuilder } from "../kexec/memory-map.js";
import type { HandoverRecord } from "../kho/in.js";
import { decodeScratchArray, type KhoScratch } from "../kho/scratch.js";
import type { PhysMem } from "../mem/phys.js";
import { KhoRadixTree } from "../radix/tree.js";
import { hex } from "../units.js";
import type { HandoverImage } from "./format.js";
import { type ImageInfo, imageInfo } from "./info.js";
import { loadImage } from "./machine.js";

/** The preserved-memory radix tree as walked from the image's memory, or why it could not be. */
export type RadixSummary =
  | {
      readonly status: "walked";
      readonly root: string;
      /** Keys (preserved blocks) per order. */
      readonly byOrder: Record<string, number>;
      readonly blocks: number;
      readonly pages: number;
      readonly preservedBytes: number;
      readonly nodePages: number;
    }
  | { readonly status: "unavailable" | "invalid"; readonly root: string | null; readonly reason: string };

/** The root FDT of a handover: its report, dtc's DTS of it and its tree. */
export interface RootFdtView {
  readonly report: RootFdtReport;
  /** As `dtc -I dtb -O dts` prints it; null when dtc would refuse the blob. */
  readonly dts: string | null;
  readonly tree: FdtJsonNode | null;
}

/** Everything `kho inspect IMAGE` shows, as plain JSON values. */
export interface ImageInspection {
  readonly source: "image";
  readonly info: ImageInfo;
  readonly rootFdt: RootFdtView | null;
  /** Each child of the root FDT with its blob read from the image's memory, decoded by the plugin owning it. */
  readonly subtrees: readonly (BlobReport & { readonly owner: string | null })[];
  readonly radix: RadixSummary;
  readonly scratch: ScratchReport | null;
  readonly memoryMap: MemoryMap;
  /** What could not be read or would make a v7.2-rc1 kernel reject the handover. */
  readonly problems: readonly string[];
}

export interface InspectOptions {
  /** Read the tree with the depth of kernels before d64b0372760e (16 KiB pages: 4). */
  readonly legacyRadixDepth?: boolean;
}

/** The root FDT's view: dtc's DTS and the parsed tree, when they can be had. */
export function rootFdtView(report: RootFdtReport, bytes: Uint8Array): RootFdtView {
  if (report.status !== "ok" && report.status !== "incompatible") return { report, dts: null, tree: null };
  const fdt = bytes.subarray(0, report.totalsize ?? bytes.length);
  let dts: string | null = null;
  try {
    dts = toDts(fdt);
  } catch (e) {
    if (!isKhoError(e)) throw e;
  }
  // Bounded like debugfs decoding: a hostile root FDT cannot make the tree view unbounded.
  return { report, dts, tree: fdtJson(fdt).root };
}

/** Bytes of memory, or the reason they cannot be read (not in the image, not RAM). */
function readMem(mem: PhysMem, pa: number, len: number): Uint8Array | string {
  try {
    return mem.read(pa, len);
  } catch (e) {
    if (!isKhoError(e)) throw e;
    return `${e.code}: ${e.message}`;
  }
}

/** The walk's summary, and the blocks and node pages it found (for the memory map). */
interface Walk {
  readonly summary: RadixSummary;
  readonly blocks: readonly (readonly [number, number])[];
  readonly nodePages: readonly number[];
}

/** Walks the tree at `root` in the image's memory; a broken tree is reported, not thrown. */
function walkRadix(mem: PhysMem, root: number, opts: InspectOptions): Walk {
  const byOrder: Record<string, number> = {};
  const blocks: [number, number][] = [];
  let pages = 0;
  try {
    const tree = KhoRadixTree.adopt(mem, root, { legacyDepth: opts.legacyRadixDepth === true });
    const nodePages = tree.nodePagePAs();
    tree.walk((pa, order) => {
      byOrder[order] = (byOrder[order] ?? 0) + 1;
      pages += 2 ** order;
      blocks.push([pa, order]);
      return 0;
    });
    const summary: RadixSummary = {
      status: "walked",
      root: hex(root),
      byOrder,
      blocks: blocks.length,
      pages,
      preservedBytes: pages * mem.pageSize,
      nodePages: nodePages.length,
    };
    return { summary, blocks, nodePages };
  } catch (e) {
    if (!isKhoError(e)) throw e;
    return {
      summary: { status: "invalid", root: hex(root), reason: `${e.code}: ${e.message}` },
      blocks: [],
      nodePages: [],
    };
  }
}

/** The plugin owning node `name`, among those given. */
function ownerOfNode(plugins: readonly AnyPlugin[], name: string): string | null {
  return plugins.find((p) => (p.subtrees ?? []).some((v) => v.abi.name === name))?.name ?? null;
}

/**
 * Reads a handover image the way the next kernel would find it, without
 * booting one: the record, the root FDT it points at, every subtree blob
 * (decoded by the version of a loaded plugin that identifies it, else as
 * FDT or raw bytes), the scratch array, and the radix tree walked from the
 * image's memory. Nothing is written; a part that cannot be read is a
 * problem in the result, not an exception. Only a file that is not an
 * image at all fails earlier, in `readImageFile`.
 */
export function inspectImage(
  image: HandoverImage,
  plugins: readonly AnyPlugin[] = [],
  opts: InspectOptions = {},
): ImageInspection {
  const info = imageInfo(image);
  const machine = loadImage(image);
  const mem = machine.mem;
  const problems: string[] = [];
  const map = new MemoryMapBuilder(mem);
  map.addPoison();
  map.addSegments(image.segments.map((s) => ({ what: s.kind, pa: s.pa, size: s.size })));
  let record: HandoverRecord | null = null;
  if (!image.record) problems.push("the image carries no handover record: a kernel booted from it boots cold");
  else {
    try {
      record = decodeRecord(image.record.format, image.record.bytes);
      if (!record) problems.push("the handover record holds no KHO data");
    } catch (e) {
      if (!isKhoError(e)) throw e;
      problems.push(`handover record: ${e.code}: ${e.message}`);
    }
  }
  const none = (reason: string): RadixSummary => ({ status: "unavailable", root: null, reason });
  // What is known when reading stops early: no root FDT, no subtrees, no tree.
  const stop = (reason: string, scratch: ScratchReport | null): ImageInspection => ({
    source: "image",
    info,
    rootFdt: null,
    subtrees: [],
    radix: none(reason),
    scratch,
    memoryMap: map.build(),
    problems,
  });
  if (!record) return stop("no record", null);

  let scratch: ScratchReport | null = null;
  const array = readMem(mem, record.scratchPa, Math.min(record.scratchSize, MAX_DEBUGFS_BLOB));
  if (typeof array === "string") problems.push(`scratch array at ${hex(record.scratchPa)}: ${array}`);
  else {
    let areas: KhoScratch[] = [];
    const scratchProblems: string[] = [];
    try {
      areas = decodeScratchArray(array);
    } catch (e) {
      if (!isKhoError(e)) throw e;
      scratchProblems.push(`${e.code}: ${e.message}`);
    }
    map.addScratch(areas);
    scratch = { areas: areas.map((a) => ({ addr: hex(a.addr), size: hex(a.size) })), problems: scratchProblems };
  }

  const page = readMem(mem, record.fdtPa, Math.min(record.fdtSize, MAX_DEBUGFS_BLOB));
  if (typeof page === "string") {
    problems.push(`root FDT at ${hex(record.fdtPa)}: ${page}`);
    return stop("no root FDT", scratch);
  }
  // The kernel maps the page the record names; the FDT in it is `totalsize` long.
  const total = page.length >= 8 ? Math.min(be32(page, 4), page.length) : page.length;
  const fdt = page.subarray(0, total >= 40 ? total : page.length);
  const decoded = decodeRootFdt(`memory ${hex(record.fdtPa)}`, fdt);
  const pmm = decoded.preservedMemoryMap;
  const walk: Walk =
    pmm?.pa && !pmm.problem
      ? walkRadix(mem, Number(pmm.pa), opts)
      : { summary: none("the root FDT names no radix tree"), blocks: [], nodePages: [] };
  const radix = walk.summary;
  const radixTree =
    radix.status === "walked"
      ? `walked: ${radix.blocks} blocks, ${radix.nodePages} node pages`
      : `${radix.status}: ${radix.reason}`;
  const report: RootFdtReport = pmm ? { ...decoded, preservedMemoryMap: { ...pmm, radixTree } } : decoded;
  const rootFdt = rootFdtView(report, fdt);
  if (report.error) problems.push(`root FDT: ${report.error}`);
  if (radix.status === "invalid") problems.push(`radix tree: ${radix.reason}`);

  const versions = plugins.flatMap((p) => p.subtrees ?? []);
  const subtrees: (BlobReport & { owner: string | null })[] = [];
  const blobOwners: { pa: number; owner: string }[] = [{ pa: record.fdtPa, owner: "kernel" }];
  for (const t of report.subtrees) {
    if (t.preservedData === null || t.blobSize === null) continue;
    const pa = Number(t.preservedData);
    const owner = ownerOfNode(plugins, t.name);
    blobOwners.push({ pa, owner: owner ?? "unknown" });
    if (t.blobSize > MAX_DEBUGFS_BLOB) {
      problems.push(`subtree ${t.name}: blob-size ${t.blobSize} is more than the ${MAX_DEBUGFS_BLOB} bytes read`);
      continue;
    }
    const blob = readMem(mem, pa, t.blobSize);
    if (typeof blob === "string") problems.push(`subtree ${t.name} at ${t.preservedData}: ${blob}`);
    else subtrees.push({ ...decodeBlob(t.name, `memory ${t.preservedData}`, blob, t, versions), owner });
  }
  // The image knows who preserved a block only where a root FDT entry points into it.
  const ps = mem.pageSize;
  for (const [pa, order] of walk.blocks) {
    const end = pa + ps * 2 ** order;
    const owner = blobOwners.find((b) => b.pa >= pa && b.pa < end)?.owner ?? "unknown";
    map.add("preserved", pa, end - pa, { owner });
  }
  for (const pa of walk.nodePages) map.add("radix-node", pa, ps);
  return { source: "image", info, rootFdt, subtrees, radix, scratch, memoryMap: map.build(), problems };
}
