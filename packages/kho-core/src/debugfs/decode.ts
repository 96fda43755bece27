import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  KHO_FDT_BLOB_SIZE_PROP_NAME,
  KHO_FDT_COMPATIBLE,
  KHO_FDT_MEMORY_MAP_PROP_NAME,
  KHO_FDT_SUB_TREE_PROP_NAME,
} from "../abi/kexec-handover.js";
import { isKhoError, KhoError } from "../errors.js";
import { checkFull } from "../fdt/check.js";
import { FDT_MAGIC } from "../fdt/constants.js";
import { FdtError } from "../fdt/errors.js";
import { readHeader } from "../fdt/header.js";
import { type FdtNode, parseFdt } from "../fdt/parse.js";
import { nodeCheckCompatibleRc } from "../fdt/ro.js";
import { FileError } from "../files/error.js";
import { readInputFile } from "../files/input.js";
import { hex } from "../units.js";
import {
  debugfs_kho_kexec_metadata,
  debugfs_luo_ser,
  KHO_KEXEC_METADATA_VERSION,
  KHO_METADATA_NODE_NAME,
  LUO_ABI_COMPATIBLE,
  LUO_NODE_NAME,
} from "./layouts.js";
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

export interface FdtJsonNode {
  readonly name: string;
  readonly props: readonly FdtJsonProp[];
  readonly children: readonly FdtJsonNode[];
}

/** A property shown every way it plausibly reads: string, CPU-native u32/u64 by length, hex. */
export interface FdtJsonProp {
  readonly name: string;
  readonly length: number;
  readonly string?: string;
  readonly u32?: number;
  readonly u64?: string;
  readonly hex: string;
}

export type BlobDecoded =
  | {
      readonly kind: "kexec-metadata";
      readonly version: number | null;
      readonly previousRelease: string | null;
      readonly kexecCount: number | null;
    }
  | {
      readonly kind: "luo";
      readonly compatible: string | null;
      readonly liveupdateNum: string | null;
      readonly sessionsPa: string | null;
      readonly flbsPa: string | null;
    }
  | { readonly kind: "fdt"; readonly totalsize: number; readonly compatible: string | null; readonly root: FdtJsonNode }
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

function hexBytes(b: Uint8Array, max = b.length): string {
  return Array.from(b.subarray(0, max), (x) => x.toString(16).padStart(2, "0")).join("");
}

function u64le(v: Uint8Array): bigint {
  return new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true);
}

/** A printable NUL-terminated string list, else undefined. */
function asString(v: Uint8Array): string | undefined {
  if (v.length === 0 || v[v.length - 1] !== 0) return undefined;
  for (const b of v.subarray(0, -1)) if (b !== 0 && (b < 0x20 || b > 0x7e)) return undefined;
  return latin1.decode(v.subarray(0, -1)).split("\0").join('", "');
}

function propJson(name: string, v: Uint8Array): FdtJsonProp {
  const s = asString(v);
  return {
    name,
    length: v.length,
    ...(s !== undefined ? { string: s } : {}),
    ...(v.length === 4 ? { u32: new DataView(v.buffer, v.byteOffset, 4).getUint32(0, true) } : {}),
    ...(v.length === 8 ? { u64: hex(u64le(v)) } : {}),
    hex: hexBytes(v),
  };
}

function nodeJson(n: FdtNode): FdtJsonNode {
  return { name: n.name, props: n.props.map((p) => propJson(p.name, p.value)), children: n.children.map(nodeJson) };
}

function compatibleOf(n: FdtNode): string | null {
  const p = n.props.find((x) => x.name === "compatible");
  return p ? (asString(p.value) ?? hexBytes(p.value)) : null;
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
      error: `header totalsize ${h.totalsize} exceeds the ${bytes.length}-byte file: a prefix of the FDT (out/fdt keeps the length it had at kho_init)`,
    };
  }
  let root: FdtNode;
  try {
    checkFull(bytes);
    root = parseFdt(bytes).root;
  } catch (e) {
    if (!(e instanceof FdtError)) throw e;
    return { ...base, status: "invalid", totalsize: h.totalsize, error: e.message };
  }
  const compatible = compatibleOf(root);
  const map = root.props.find((p) => p.name === KHO_FDT_MEMORY_MAP_PROP_NAME);
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
    const d = c.props.find((p) => p.name === KHO_FDT_SUB_TREE_PROP_NAME);
    const s = c.props.find((p) => p.name === KHO_FDT_BLOB_SIZE_PROP_NAME);
    const dOk = d !== undefined && d.value.length === 8;
    const sOk = s !== undefined && s.value.length === 8;
    if (!dOk)
      problems.push(
        `${KHO_FDT_SUB_TREE_PROP_NAME} ${d ? `is ${d.value.length} bytes` : "is missing"}: retrieve fails with -EINVAL`,
      );
    if (!sOk)
      problems.push(
        `${KHO_FDT_BLOB_SIZE_PROP_NAME} ${s ? `is ${s.value.length} bytes` : "is missing"}: retrieve fails with -EINVAL`,
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

function decodeMetadata(bytes: Uint8Array, problems: string[]): BlobDecoded {
  // The next kernel's checks, in its order (§8).
  if (bytes.length < 4) {
    problems.push(`kexec-metadata blob too small (${bytes.length} bytes)`);
    return { kind: "kexec-metadata", version: null, previousRelease: null, kexecCount: null };
  }
  const version = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  if (version !== KHO_KEXEC_METADATA_VERSION) {
    problems.push(`kexec-metadata version ${version} not supported (expected ${KHO_KEXEC_METADATA_VERSION})`);
    return { kind: "kexec-metadata", version, previousRelease: null, kexecCount: null };
  }
  if (bytes.length < debugfs_kho_kexec_metadata.size) {
    problems.push(
      `kexec-metadata blob too small for v${version} (${bytes.length} < ${debugfs_kho_kexec_metadata.size})`,
    );
    return { kind: "kexec-metadata", version, previousRelease: null, kexecCount: null };
  }
  const countAt = debugfs_kho_kexec_metadata.offsetOf("kexec_count");
  const kexecCount = new DataView(bytes.buffer, bytes.byteOffset + countAt, 4).getUint32(0, true);
  try {
    const m = debugfs_kho_kexec_metadata.decode(bytes);
    return { kind: "kexec-metadata", version, previousRelease: m.previous_release, kexecCount };
  } catch (e) {
    if (!isKhoError(e)) throw e;
    // The kernel prints the release with %s: it reads up to the first NUL whatever follows.
    const at = debugfs_kho_kexec_metadata.offsetOf("previous_release");
    const raw = bytes.subarray(at, at + 65);
    const nul = raw.indexOf(0);
    problems.push(`previous_release: ${e.message}`);
    return {
      kind: "kexec-metadata",
      version,
      previousRelease: nul < 0 ? null : latin1.decode(raw.subarray(0, nul)),
      kexecCount,
    };
  }
}

function decodeLuo(bytes: Uint8Array, problems: string[], unavailable: string[]): BlobDecoded {
  if (bytes.length < debugfs_luo_ser.size) {
    problems.push(
      `LUO blob is ${bytes.length} bytes, struct luo_ser needs ${debugfs_luo_ser.size}: the next kernel panics`,
    );
    return { kind: "luo", compatible: null, liveupdateNum: null, sessionsPa: null, flbsPa: null };
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, debugfs_luo_ser.size);
  const at = (f: "liveupdate_num" | "sessions_pa" | "flbs_pa"): bigint =>
    dv.getBigUint64(debugfs_luo_ser.offsetOf(f), true);
  const raw = bytes.subarray(0, 8);
  const nul = raw.indexOf(0);
  const compatible = latin1.decode(raw.subarray(0, nul < 0 ? 8 : nul));
  if (compatible !== LUO_ABI_COMPATIBLE)
    problems.push(`compatible "${compatible}" is not "${LUO_ABI_COMPATIBLE}": the next kernel panics`);
  const sessions = at("sessions_pa");
  if (sessions) unavailable.push(`session blocks at ${hex(sessions)}: ${UNAVAILABLE}`);
  unavailable.push(`FLB page at ${hex(at("flbs_pa"))}: ${UNAVAILABLE}`);
  return {
    kind: "luo",
    compatible,
    liveupdateNum: at("liveupdate_num").toString(),
    sessionsPa: hex(sessions),
    flbsPa: hex(at("flbs_pa")),
  };
}

/** One sub_fdts file, mapped by name: kexec-metadata, LUO, else an FDT if it parses, else raw. */
export function decodeBlob(name: string, file: string, bytes: Uint8Array, listed: ListedSubtree | null): BlobReport {
  const problems: string[] = [];
  const unavailable: string[] = [];
  if (listed && listed.blobSize !== null && listed.blobSize !== bytes.length)
    problems.push(`file is ${bytes.length} bytes but the root FDT says blob-size ${listed.blobSize}`);
  let decoded: BlobDecoded;
  if (name === KHO_METADATA_NODE_NAME) decoded = decodeMetadata(bytes, problems);
  else if (name === LUO_NODE_NAME) decoded = decodeLuo(bytes, problems, unavailable);
  else {
    try {
      // blob-size may exceed the FDT's totalsize (kho_test rounds to a folio); the buffer is the file.
      checkFull(bytes);
      const t = parseFdt(bytes);
      decoded = {
        kind: "fdt",
        totalsize: t.header.totalsize,
        compatible: compatibleOf(t.root),
        root: nodeJson(t.root),
      };
      if (name === "memblock") unavailable.push(`reserve_mem region contents: ${UNAVAILABLE}`);
      if (name === "kho_test") unavailable.push(`the folio list and folio contents: ${UNAVAILABLE}`);
    } catch (e) {
      if (!isKhoError(e)) throw e;
      decoded = { kind: "raw", head: hexBytes(bytes, 64) };
    }
  }
  return { name, file, length: bytes.length, listed, decoded, problems, unavailable };
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

function side(files: ReadonlyMap<string, Uint8Array>, dir: "in" | "out"): SideReport | null {
  const names = [...files.keys()].filter((k) => k.startsWith(`${dir}/`));
  if (names.length === 0) return null;
  const fdtBytes = files.get(`${dir}/fdt`);
  const fdt = fdtBytes ? decodeRootFdt(`${dir}/fdt`, fdtBytes) : null;
  const prefix = `${dir}/sub_fdts/`;
  const subFdts = names
    .filter((k) => k.startsWith(prefix))
    .sort()
    .map((k) => {
      const name = k.slice(prefix.length);
      return decodeBlob(name, k, files.get(k)!, fdt?.subtrees.find((s) => s.name === name) ?? null);
    });
  const report: SideReport = { fdt, subFdts };
  if (dir === "out") {
    const scratch = decodeScratch(files.get("out/scratch_phys"), files.get("out/scratch_len"));
    if (scratch) return { ...report, scratch };
  }
  return report;
}

/** Decodes a debugfs `kho/` copy given as path -> bytes (paths relative to `kho/`). */
export function decodeDebugfs(files: ReadonlyMap<string, Uint8Array>): DebugfsReport {
  const warnings: string[] = [];
  const outR = side(files, "out");
  const inR = side(files, "in");
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
    for (const e of readdirSync(base, { withFileTypes: true })) {
      if (e.name === "sub_fdts" && e.isDirectory()) {
        for (const s of readdirSync(join(base, "sub_fdts"))) take(`${d}/sub_fdts/${s}`);
      } else if (e.name === "fdt" || (d === "out" && (e.name === "scratch_phys" || e.name === "scratch_len")))
        take(`${d}/${e.name}`);
      else warnings.push(`${d}/${e.name} is not a debugfs kho/ file; ignored`);
    }
  }
  return { files, warnings };
}

/** readDebugfsDir then decodeDebugfs, with the reader's warnings first. */
export function decodeDebugfsDir(dir: string): DebugfsReport {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new KhoError("ENOENT", `${dir} is not a directory`, dir);
  const { files, warnings } = readDebugfsDir(dir);
  const r = decodeDebugfs(files);
  return { ...r, warnings: [...warnings, ...r.warnings] };
}
