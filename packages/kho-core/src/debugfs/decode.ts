import { type Dirent, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { JsonValue } from "../abi/field.js";
import {
  KHO_FDT_BLOB_SIZE_PROP_NAME,
  KHO_FDT_COMPATIBLE,
  KHO_FDT_MEMORY_MAP_PROP_NAME,
  KHO_FDT_SUB_TREE_PROP_NAME,
} from "../abi/kexec-handover.js";
import { isKhoError } from "../errors.js";
import { checkFull } from "../fdt/check.js";
import { FDT_MAGIC } from "../fdt/constants.js";
import { FdtError } from "../fdt/errors.js";
import { readHeader } from "../fdt/header.js";
import { type FdtProperty, findProp, getName, nodeCheckCompatibleRc, subnodes } from "../fdt/ro.js";
import { FileError, fileError } from "../fs/error.js";
import { readInputFile } from "../fs/input.js";
import type { SubtreeVersion } from "../host/plugin.js";
import { hex } from "../units.js";
import { type FdtJsonTree, fdtJson, hexBytes, shownString } from "./fdt-json.js";
import { MAX_DEBUGFS_BLOB } from "./view.js";

/** The radix tree and block chains live in memory pages a debugfs copy does not contain. */
export const UNAVAILABLE = "unavailable: memory pages are not part of a debugfs copy";

/** One subtree as the root FDT lists it. */
export interface ListedSubtree {
  readonly name: string;
  /** Hex PA, or null when `preserved-data` is missing or not 8 bytes. */
  readonly preservedData: string | null;
  /** Bytes, or null when `blob-size` is missing or not 8 bytes. */
  readonly blobSize: number | null;
  /** What kho_retrieve_subtree would say: 0 or a negative errno. */
  readonly retrieve: 0 | -22;
  readonly problems: readonly string[];
}

export interface RootFdtReport {
  readonly file: string;
  readonly length: number;
  /**
   * `ok`: a valid kho-v4 root; `incompatible`: valid FDT, other compatible
   * (a v7.2-rc1 kernel ignores it); `truncated`: the file is a prefix
   * (header totalsize beyond it: the cold-boot out/fdt quirk), not parsed;
   * `invalid`: not an FDT libfdt accepts.
   */
  readonly status: "ok" | "incompatible" | "truncated" | "invalid";
  readonly totalsize: number | null;
  readonly error?: string;
  readonly compatible?: string | null;
  readonly preservedMemoryMap?: { readonly pa: string | null; readonly problem?: string; readonly radixTree: string };
  readonly subtrees: readonly ListedSubtree[];
}

/**
 * What a blob decodes to: through the plugin version that identified it
 * (`subtree`), else as an FDT if it parses, else raw bytes.
 */
export type BlobDecoded =
  | {
      readonly kind: "subtree";
      /** What the blob says it is, as the version's `identify` read it. */
      readonly compatible: string;
      /** The ABI version that decoded it (`abi.version`). */
      readonly version: string;
      readonly fields: JsonValue;
    }
  | ({ readonly kind: "fdt" } & FdtJsonTree)
  | { readonly kind: "raw"; readonly head: string };

export interface BlobReport {
  readonly name: string;
  readonly file: string;
  readonly length: number;
  /** The root FDT's entry for this name, when a root FDT was decoded. */
  readonly listed: ListedSubtree | null;
  readonly decoded: BlobDecoded;
  /** What a v7.2-rc1 kernel would reject or warn about. */
  readonly problems: readonly string[];
  /** Things the blob points at that only memory pages could show. */
  readonly unavailable: readonly string[];
}

export interface ScratchReport {
  readonly areas: readonly { readonly addr: string; readonly size: string }[];
  readonly problems: readonly string[];
}

export interface SideReport {
  readonly fdt: RootFdtReport | null;
  readonly subFdts: readonly BlobReport[];
  readonly scratch?: ScratchReport;
}

/** A decoded copy of debugfs `kho/`: JSON-serialisable as it is. */
export interface DebugfsReport {
  readonly in: SideReport | null;
  readonly out: SideReport | null;
  readonly warnings: readonly string[];
}

const latin1 = new TextDecoder("latin1");

function u64le(v: Uint8Array): bigint {
  return new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true);
}

/** The root KHO FDT by §2's rules; a file shorter than its header's totalsize is reported, not parsed. */
export function decodeRootFdt(file: string, bytes: Uint8Array): RootFdtReport {
  const base = { file, length: bytes.length, subtrees: [] as ListedSubtree[] };
  const h = readHeader(bytes);
  if (bytes.length < 40 || h.magic !== FDT_MAGIC) {
    return {
      ...base,
      status: "invalid",
      totalsize: null,
      error: bytes.length < 40 ? `${bytes.length} bytes is shorter than an FDT header` : `bad magic ${hex(h.magic)}`,
    };
  }
  if (h.totalsize > bytes.length) {
    return {
      ...base,
      status: "truncated",
      totalsize: h.totalsize,
      error:
        `header totalsize ${h.totalsize} exceeds the ${bytes.length}-byte file: ` +
        "a prefix of the FDT (out/fdt keeps the length it had at kho_init)",
    };
  }
  let root: {
    compatible: FdtProperty | undefined;
    map: FdtProperty | undefined;
    children: { name: string; data: FdtProperty | undefined; size: FdtProperty | undefined }[];
  };
  try {
    checkFull(bytes);
    // libfdt's navigation, as the kernel reads the root: a property after a subnode is not seen.
    root = {
      compatible: findProp(bytes, 0, "compatible"),
      map: findProp(bytes, 0, KHO_FDT_MEMORY_MAP_PROP_NAME),
      children: [...subnodes(bytes, 0)].map((c) => ({
        name: getName(bytes, c),
        data: findProp(bytes, c, KHO_FDT_SUB_TREE_PROP_NAME),
        size: findProp(bytes, c, KHO_FDT_BLOB_SIZE_PROP_NAME),
      })),
    };
  } catch (e) {
    if (!(e instanceof FdtError)) throw e;
    return { ...base, status: "invalid", totalsize: h.totalsize, error: e.message };
  }
  const compatible = root.compatible ? shownString(root.compatible.value) : null;
  const map = root.map;
  let mapPa: string | null = null;
  let mapProblem: string | undefined;
  if (map?.value.length !== 8)
    mapProblem = map
      ? `${KHO_FDT_MEMORY_MAP_PROP_NAME} is ${map.value.length} bytes, not 8`
      : `no ${KHO_FDT_MEMORY_MAP_PROP_NAME}`;
  else if (u64le(map.value) === 0n) mapProblem = `${KHO_FDT_MEMORY_MAP_PROP_NAME} is 0`;
  if (map && map.value.length === 8) mapPa = hex(u64le(map.value));
  const subtrees = root.children.map((c): ListedSubtree => {
    const problems: string[] = [];
    const d = c.data;
    const s = c.size;
    const dOk = d !== undefined && d.value.length === 8;
    const sOk = s !== undefined && s.value.length === 8;
    if (!dOk)
      problems.push(
        `${KHO_FDT_SUB_TREE_PROP_NAME} ${d ? `is ${d.value.length} bytes` : "is missing"}: retrieve fails with -EINVAL`,
      );
    if (!sOk)
      problems.push(
        `${KHO_FDT_BLOB_SIZE_PROP_NAME} ${s ? `is ${s.value.length} bytes` : "is missing"}: ` +
          "retrieve fails with -EINVAL",
      );
    const size = sOk ? u64le(s.value) : null;
    return {
      name: c.name,
      preservedData: dOk ? hex(u64le(d.value)) : null,
      blobSize: size === null ? null : size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size),
      retrieve: dOk && sOk ? 0 : -22,
      problems,
    };
  });
  const ok = nodeCheckCompatibleRc(bytes, 0, KHO_FDT_COMPATIBLE) === 0;
  return {
    ...base,
    status: ok ? "ok" : "incompatible",
    totalsize: h.totalsize,
    ...(ok
      ? {}
      : { error: `root is not compatible with "${KHO_FDT_COMPATIBLE}": a v7.2-rc1 kernel ignores this handover` }),
    compatible,
    preservedMemoryMap: {
      pa: mapPa,
      ...(mapProblem ? { problem: `${mapProblem}: the handover is rejected` } : {}),
      radixTree: UNAVAILABLE,
    },
    subtrees,
  };
}

/** A blob no known version decoded: an FDT if libfdt accepts it, else its first bytes. */
function decodeUnknown(bytes: Uint8Array): BlobDecoded {
  try {
    // blob-size may exceed the FDT's totalsize (a blob rounded up to a folio); the buffer is the file.
    return { kind: "fdt", ...fdtJson(bytes) };
  } catch (e) {
    if (!isKhoError(e)) throw e;
    return { kind: "raw", head: hexBytes(bytes, 64) };
  }
}

/**
 * One sub_fdts file. The versions given for its node name are asked in
 * turn (`identify`); the first that recognises the blob describes it.
 * Without one, the blob is shown as an FDT or raw bytes, and when versions
 * of the node were known, a problem says what the blob claims to be.
 */
export function decodeBlob(
  name: string,
  file: string,
  bytes: Uint8Array,
  listed: ListedSubtree | null,
  versions: readonly SubtreeVersion[] = [],
): BlobReport {
  const problems: string[] = [];
  const unavailable: string[] = [];
  if (listed && listed.blobSize !== null && listed.blobSize !== bytes.length)
    problems.push(`file is ${bytes.length} bytes but the root FDT says blob-size ${listed.blobSize}`);
  const mine = versions.filter((v) => v.abi.name === name);
  let claimed: string | null = null;
  for (const v of mine) {
    const compatible = v.identify(bytes);
    claimed ??= compatible;
    if (compatible === null || !v.abi.compatible.includes(compatible)) continue;
    const d = v.describe(bytes);
    problems.push(...(d.problems ?? []));
    unavailable.push(...(d.unavailable ?? []));
    const decoded: BlobDecoded = { kind: "subtree", compatible, version: v.abi.version, fields: d.fields };
    return { name, file, length: bytes.length, listed, decoded, problems, unavailable };
  }
  if (mine.length) {
    const known = mine.map((v) => v.abi.compatible[0]).join(", ");
    const what = claimed === null ? "is unidentifiable" : `claims "${claimed}"`;
    problems.push(`blob ${what}; known versions of "${name}": ${known}`);
  }
  return { name, file, length: bytes.length, listed, decoded: decodeUnknown(bytes), problems, unavailable };
}

function decodeScratch(phys: Uint8Array | undefined, len: Uint8Array | undefined): ScratchReport | undefined {
  if (!phys && !len) return undefined;
  const problems: string[] = [];
  const lines = (b: Uint8Array | undefined, what: string): string[] => {
    if (!b) {
      problems.push(`no ${what}`);
      return [];
    }
    const t = latin1.decode(b);
    if (t.length && !t.endsWith("\n")) problems.push(`${what} does not end with a newline`);
    const ls = t === "" ? [] : t.split("\n");
    if (t.endsWith("\n")) ls.pop();
    ls.forEach((l, i) => {
      if (!/^0x[0-9a-f]+$/.test(l)) problems.push(`${what} line ${i + 1} "${l}" is not lowercase 0x hex`);
    });
    return ls;
  };
  const p = lines(phys, "scratch_phys");
  const l = lines(len, "scratch_len");
  if (p.length !== l.length) problems.push(`scratch_phys has ${p.length} lines, scratch_len ${l.length}`);
  const n = Math.min(p.length, l.length);
  return { areas: Array.from({ length: n }, (_, i) => ({ addr: p[i]!, size: l[i]! })), problems };
}

function side(
  files: ReadonlyMap<string, Uint8Array>,
  dir: "in" | "out",
  versions: readonly SubtreeVersion[],
): SideReport | null {
  const names = [...files.keys()].filter((k) => k.startsWith(`${dir}/`));
  if (names.length === 0) return null;
  const fdtBytes = files.get(`${dir}/fdt`);
  const fdt = fdtBytes ? decodeRootFdt(`${dir}/fdt`, fdtBytes) : null;
  const prefix = `${dir}/sub_fdts/`;
  const listed = new Map(fdt?.subtrees.map((s) => [s.name, s]));
  const subFdts = names
    .filter((k) => k.startsWith(prefix))
    .sort()
    .map((k) => {
      const name = k.slice(prefix.length);
      return decodeBlob(name, k, files.get(k)!, listed.get(name) ?? null, versions);
    });
  const report: SideReport = { fdt, subFdts };
  if (dir === "out") {
    const scratch = decodeScratch(files.get("out/scratch_phys"), files.get("out/scratch_len"));
    if (scratch) return { ...report, scratch };
  }
  return report;
}

/**
 * Decodes a debugfs `kho/` copy given as path -> bytes (paths relative to
 * `kho/`). Blobs are decoded by the subtree versions given (the plugins'),
 * the rest as FDT or raw bytes.
 */
export function decodeDebugfs(
  files: ReadonlyMap<string, Uint8Array>,
  versions: readonly SubtreeVersion[] = [],
): DebugfsReport {
  const warnings: string[] = [];
  const outR = side(files, "out", versions);
  const inR = side(files, "in", versions);
  if (inR && !files.has("in/fdt")) warnings.push("in/ has no fdt: subtrees cannot be matched to the root FDT");
  if (inR && outR && files.has("out/fdt"))
    warnings.push("both in/ and out/fdt: a kernel creates out/fdt only on a cold boot, and in/ only on a KHO boot");
  for (const s of [inR, outR]) {
    if (s?.fdt?.status !== "ok") continue;
    for (const t of s.fdt.subtrees) {
      const dir = s.fdt.file.startsWith("in/") ? "in" : "out";
      if (!files.has(`${dir}/sub_fdts/${t.name}`))
        warnings.push(`${dir}/fdt lists "${t.name}" but there is no ${dir}/sub_fdts/${t.name}`);
    }
  }
  return { in: inR, out: outR, warnings };
}

/**
 * Reads a copied `kho/` directory (or a directory holding `kho/`): only the
 * paths debugfs defines, each at most MAX_DEBUGFS_BLOB bytes; anything else
 * is listed as a warning and left alone.
 */
export function readDebugfsDir(dir: string): { files: Map<string, Uint8Array>; warnings: string[] } {
  const root =
    !existsSync(join(dir, "in")) && !existsSync(join(dir, "out")) && existsSync(join(dir, "kho"))
      ? join(dir, "kho")
      : dir;
  const files = new Map<string, Uint8Array>();
  const warnings: string[] = [];
  const list = (p: string): Dirent[] => {
    try {
      return readdirSync(p, { withFileTypes: true });
    } catch (e) {
      throw fileError(e, p, "list the folder");
    }
  };
  const take = (rel: string): void => {
    const p = join(root, rel);
    try {
      files.set(rel, readInputFile(p, MAX_DEBUGFS_BLOB));
    } catch (e) {
      if (!(e instanceof FileError)) throw e;
      warnings.push(`${rel}: ${e.reason}`);
    }
  };
  for (const d of ["in", "out"] as const) {
    const base = join(root, d);
    if (!existsSync(base)) continue;
    for (const e of list(base)) {
      if (e.name === "sub_fdts" && e.isDirectory()) {
        for (const s of list(join(base, "sub_fdts"))) take(`${d}/sub_fdts/${s.name}`);
      } else if (e.name === "fdt" || (d === "out" && (e.name === "scratch_phys" || e.name === "scratch_len")))
        take(`${d}/${e.name}`);
      else warnings.push(`${d}/${e.name} is not a debugfs kho/ file; ignored`);
    }
  }
  return { files, warnings };
}

/** readDebugfsDir then decodeDebugfs, with the reader's warnings first. */
export function decodeDebugfsDir(dir: string, versions: readonly SubtreeVersion[] = []): DebugfsReport {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    throw fileError(e, dir, "read the folder");
  }
  if (!isDir) throw new FileError("ENOTDIR", "is not a directory", dir);
  const { files, warnings } = readDebugfsDir(dir);
  const r = decodeDebugfs(files, versions);
  return { ...r, warnings: [...warnings, ...r.warnings] };
}
