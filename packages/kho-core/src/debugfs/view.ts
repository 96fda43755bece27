import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { KHO_FDT_BLOB_SIZE_PROP_NAME, KHO_FDT_SUB_TREE_PROP_NAME } from "../abi/kexec-handover.js";
import { isKhoError } from "../errors.js";
import { be32 } from "../fdt/header.js";
import { findProp, getName, subnodes } from "../fdt/ro.js";
import { prepareOutputDir } from "../fs/output.js";
import { pathInside, unsafeSegment } from "../fs/paths.js";
import type { Kernel } from "../kexec/kernel.js";
import type { KhoScratch } from "../kho/scratch.js";
import { hex } from "../units.js";

/** The biggest blob the view copies out of simulated memory; a larger blob-size is refused with a warning. */
export const MAX_DEBUGFS_BLOB = 256 << 20;

/**
 * The least the view copies in all when memory holds less data than this.
 * Blobs a kernel wrote lie in memory that holds data, one region each, so
 * together they are at most the populated memory; blobs that all name one
 * region, or regions never written, are what exceeds it.
 */
export const MIN_DEBUGFS_TOTAL = 64 << 20;

/**
 * The kernel's `/sys/kernel/debug/kho/` as files: path (relative to `kho/`)
 * to contents, plus the warnings the kernel prints for incoming children it
 * skips.
 */
export interface DebugfsView {
  readonly files: Map<string, Uint8Array>;
  readonly warnings: string[];
}

const text = new TextEncoder();

/** One "0x%llx\n" line per area, lowercase, unpadded, array order. */
function scratchLines(areas: readonly KhoScratch[], pick: (s: KhoScratch) => number): Uint8Array {
  return text.encode(areas.map((s) => `${hex(pick(s))}\n`).join(""));
}

function u64le(v: Uint8Array): bigint {
  return new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true);
}

/**
 * debugfs creates one file per subtree under `sub_fdts/`; a name that is
 * not one path component (empty, `.`, `..`, with `/`) makes
 * debugfs_create_blob fail with EACCES (lookup_one_len refuses it), and
 * there is no file. On the incoming side kho_in_debugfs_init warns and goes
 * on; on the outgoing side kho_add_subtree keeps the subtree and only
 * WARN_ON_ONCEs, a splat without a message line, so nothing is added here.
 */
function debugfsRefuses(name: string): boolean {
  return unsafeSegment(name) !== null;
}

/**
 * The debugfs tree of a kernel, read now. Nothing exists when KHO is off or
 * kho_init failed. `out/` holds the scratch array, `out/fdt` only on a cold
 * boot (its length fixed at kho_init, so it may be a prefix of the live
 * FDT) and one file per subtree added; `in/` exists on a KHO boot with the
 * incoming root FDT (length = its totalsize) and every child with 8-byte
 * `preserved-data` and `blob-size`. The blobs copied are together at most
 * the memory that holds data (MIN_DEBUGFS_TOTAL at least); a blob past that
 * is skipped with a warning, where the kernel would map it again.
 */
export function debugfsView(kernel: Kernel): DebugfsView {
  const files = new Map<string, Uint8Array>();
  const warnings: string[] = [];
  const out = kernel.out;
  if (!kernel.khoEnabled || !out) return { files, warnings };
  const mem = kernel.mem;
  // A handover image is small next to what its subtrees may claim (60 blobs naming one 32 MiB region): bound the sum.
  const maxTotal = Math.max(mem.populatedPages * mem.pageSize, MIN_DEBUGFS_TOTAL);
  let copied = 0;
  const withinTotal = (side: "in" | "out", name: string, len: number): boolean => {
    if (copied + len <= maxTotal) {
      copied += len;
      return true;
    }
    warnings.push(
      `KHO: debugfs: skipping ${side === "in" ? "incoming" : "outgoing"} subtree '${name}': ${hex(len)} bytes ` +
        `would take the copied blobs past ${hex(maxTotal)} bytes, the memory that holds data`,
    );
    return false;
  };
  files.set(
    "out/scratch_phys",
    scratchLines(kernel.scratch, (s) => s.addr),
  );
  files.set(
    "out/scratch_len",
    scratchLines(kernel.scratch, (s) => s.size),
  );
  // The file is a window of fixed length onto the live page, as a debugfs blob wrapper is.
  if (out.fdtFileLength !== null) files.set("out/fdt", out.fdt.slice(0, out.fdtFileLength));
  for (const [name, b] of out.subFdts)
    if (!debugfsRefuses(name) && withinTotal("out", name, b.size))
      files.set(`out/sub_fdts/${name}`, mem.read(b.pa, b.size));

  const kin = kernel.in;
  if (!kin?.active) return { files, warnings };
  const page = kin.fdt;
  const total = Math.min(be32(page, 4), page.length);
  files.set("in/fdt", page.slice(0, total));
  const fdt = page.subarray(0, total);
  let children: number[];
  try {
    children = [...subnodes(fdt, 0)];
  } catch (e) {
    if (!isKhoError(e)) throw e;
    warnings.push(`KHO: in/fdt: cannot list subtrees: ${e.message}`);
    return { files, warnings };
  }
  for (const node of children) {
    const name = getName(fdt, node);
    const data = findProp(fdt, node, KHO_FDT_SUB_TREE_PROP_NAME);
    const size = findProp(fdt, node, KHO_FDT_BLOB_SIZE_PROP_NAME);
    if (data?.value.length !== 8) {
      warnings.push(
        `KHO: debugfs: skipping incoming subtree '${name}': missing or invalid ${KHO_FDT_SUB_TREE_PROP_NAME}`,
      );
      continue;
    }
    if (size?.value.length !== 8) {
      warnings.push(
        `KHO: debugfs: skipping incoming subtree '${name}': missing or invalid ${KHO_FDT_BLOB_SIZE_PROP_NAME}`,
      );
      continue;
    }
    const pa = u64le(data.value);
    const len = u64le(size.value);
    if (len > BigInt(MAX_DEBUGFS_BLOB) || pa > BigInt(Number.MAX_SAFE_INTEGER)) {
      warnings.push(
        `KHO: debugfs: skipping incoming subtree '${name}': blob ${hex(pa)}+${hex(len)} is too large to copy`,
      );
      continue;
    }
    if (debugfsRefuses(name)) {
      warnings.push(`KHO: failed to add blob ${name} to debugfs: -EACCES`);
      continue;
    }
    if (!withinTotal("in", name, Number(len))) continue;
    try {
      files.set(`in/sub_fdts/${name}`, mem.read(Number(pa), Number(len)));
    } catch (e) {
      if (!isKhoError(e)) throw e;
      // The kernel would map whatever is there; the simulator names the bad read instead.
      warnings.push(`KHO: debugfs: incoming subtree '${name}' is unreadable: ${e.message}`);
    }
  }
  return { files, warnings };
}

/**
 * Writes the view under `dir` (which plays `kho/`): `dir/out/fdt`, ...
 * Files are written with the usual mode rather than debugfs's 0400 so a
 * second dump can overwrite the first. Every path is checked before the
 * first write (`pathInside`), so a view holding a name that would leave
 * `dir` is refused whole with EINVAL.
 */
export function writeDebugfs(dir: string, view: DebugfsView): void {
  // View paths are `/`-separated (`in/sub_fdts/NAME`); each part is checked on its own.
  const targets = [...view.files].map(([path, bytes]) => [pathInside(dir, ...path.split("/")), bytes] as const);
  prepareOutputDir(dir);
  for (const [target, bytes] of targets) {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, bytes);
  }
}
