import type { SubtreeOutcome, TransitionReport } from "@khosim/kho-core";
import { fdtVerdict } from "@khosim/kho-core/fdt";
import { checkHookFailures } from "./contract.js";
import { type HandedOverBlob, type OwnedBlock, runSample, type SampleRun } from "./sample.js";

/** One single-byte corruption: which blob, which byte, XORed with what. */
export interface ByteCorruption {
  /** "" for the root FDT, else the subtree's node name. */
  readonly blob: string;
  readonly offset: number;
  readonly xor: number;
}

/** What the incoming kernel made of one corruption; `problems` is empty when nothing was lost or misread. */
export interface SweepResult {
  readonly corruption: ByteCorruption;
  readonly report: TransitionReport;
  /** Subtrees the corruption may touch: the corrupted one, or for the root FDT those whose bytes it hit. */
  readonly touched: readonly string[];
  readonly problems: readonly string[];
}

/** The uncorrupted handover and what the incoming kernel made of it. */
interface Baseline {
  readonly blobs: readonly HandedOverBlob[];
  readonly fdtTotalsize: number;
  readonly restored: ReadonlyMap<string, SubtreeOutcome>;
  /** Per subtree, the log lines of the plugin restoring it. */
  readonly lines: ReadonlyMap<string, readonly string[]>;
  /** Preserved blocks the incoming kernel still holds, with their contents then. */
  readonly held: readonly (OwnedBlock & { readonly bytes: Uint8Array })[];
}

let baseline: Baseline | null = null;

function blockBytes(run: SampleRun, o: OwnedBlock): Uint8Array {
  return run.host.machine.mem.read(o.pa, run.host.machine.mem.pageSize * 2 ** o.order);
}

/** The log lines a plugin printed: the host prefixes them with the plugin's log prefix. */
function linesOf(report: TransitionReport, plugin: string): string[] {
  const prefix = plugin === "luo" ? "luo: " : `${plugin}: `;
  return report.log.filter((l) => l.startsWith(prefix));
}

/** The uncorrupted run, once per process. */
export function sweepBaseline(): Baseline {
  if (baseline) return baseline;
  const run = runSample(undefined, { withContents: true });
  const root = run.blobs[0]!.bytes;
  const alloc = run.host.machine.kernel!.alloc;
  const restored = new Map(run.report.subtrees.restored.map((s) => [s.name, s] as const));
  baseline = {
    blobs: run.blobs,
    fdtTotalsize: new DataView(root.buffer, root.byteOffset).getUint32(4),
    restored,
    lines: new Map([...restored].map(([name, s]) => [name, linesOf(run.report, s.plugin ?? "")] as const)),
    // A block whose bytes changed was freed and reused (a blob the plugin
    // released after reading it): only blocks kept as they were are held.
    held: run.preserved
      .map((o) => ({ ...o, bytes: blockBytes(run, o) }))
      .filter((o) => !alloc.isFree(o.pa) && Buffer.compare(o.bytes, o.atJump!) === 0),
  };
  return baseline;
}

/** Every byte the sweep corrupts: each byte of the root FDT up to its totalsize and of every subtree blob. */
export function sweepCorruptions(xor = 0xff): ByteCorruption[] {
  const b = sweepBaseline();
  return b.blobs.flatMap((blob) => {
    const n = blob.name === "" ? b.fdtTotalsize : blob.size;
    return Array.from({ length: n }, (_, offset) => ({ blob: blob.name, offset, xor }));
  });
}

const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;

/**
 * The subtrees a root FDT byte can touch, read from the uncorrupted root
 * FDT (which the sample wrote and libfdt checked): the one whose node (name
 * and properties) holds it, else every subtree (the header, the strings,
 * the root's own properties and end tag are shared by all). When the byte
 * breaks the structure (`damaged`), every later child too: libfdt ends a
 * subnode walk quietly at a broken tag, so kho_retrieve_subtree cannot find
 * a child past it.
 */
export function touchedByRootByte(
  offset: number,
  fdt: Uint8Array,
  damaged: boolean,
  names: readonly string[],
): string[] {
  const v = new DataView(fdt.buffer, fdt.byteOffset, fdt.length);
  const struct = v.getUint32(8);
  const end = struct + v.getUint32(36);
  let depth = 0;
  let node: { name: string; start: number } | null = null;
  const hit: string[] = [];
  for (let at = struct; at < end; ) {
    const tag = v.getUint32(at);
    const start = at;
    at += 4;
    if (tag === FDT_BEGIN_NODE) {
      const nul = fdt.indexOf(0, at);
      const name = new TextDecoder("latin1").decode(fdt.subarray(at, nul));
      at = (nul + 4) & ~3;
      if (++depth === 2) node = { name, start };
    } else if (tag === FDT_END_NODE) {
      if (depth-- === 2 && node && ((offset >= node.start && offset < at) || (damaged && hit.length)))
        hit.push(node.name);
    } else if (tag === FDT_PROP) {
      at = (at + 8 + v.getUint32(at) + 3) & ~3;
    }
  }
  return hit.length ? hit : [...names];
}

/**
 * Runs the sample with one byte corrupted at the jump and checks what the
 * incoming kernel made of it. Unless it boots cold (the handover refused as
 * a whole, which the report says) or panics in the plugin of a corrupted
 * subtree (LUO panics on a state it cannot restore), every subtree the byte
 * cannot touch is restored as in the uncorrupted run (same place, size,
 * compatible, the same log lines of its plugin) and every block the
 * uncorrupted run still held is held, with the same bytes; a touched
 * subtree is restored, refused, lost or orphaned, and listed as such.
 */
export function sweepOne(c: ByteCorruption): SweepResult {
  const base = sweepBaseline();
  const run = runSample((jump) => {
    const blob = jump.blobs.find((b) => b.name === c.blob)!;
    const pa = blob.pa + c.offset;
    jump.mem.write(pa, Uint8Array.of(jump.mem.read(pa, 1)[0]! ^ c.xor));
  });
  const report = run.report;
  checkHookFailures(`sweep ${c.blob || "root FDT"}+${c.offset}`, report);
  const names = [...base.restored.keys()];
  const root = base.blobs[0]!.bytes.slice(0, base.fdtTotalsize);
  if (c.blob === "") root[c.offset]! ^= c.xor;
  const damaged = c.blob === "" && fdtVerdict(root) !== null;
  const touched = c.blob === "" ? touchedByRootByte(c.offset, base.blobs[0]!.bytes, damaged, names) : [c.blob];
  const pluginOf = (name: string): string => base.restored.get(name)!.plugin ?? "";
  const problems: string[] = [];
  const listed = (name: string): boolean =>
    Object.values(report.subtrees).some((list) => list.some((s) => s.name === name));
  if (report.outcome === "panicked") {
    const by = report.hookFailures.find((f) => f.policy === "panic")?.plugin;
    if (!touched.some((name) => pluginOf(name) === by))
      problems.push(`panicked in ${by ?? "the kernel"}, which owns no corrupted subtree`);
  } else if (report.to?.bootKind !== "kho") {
    if (report.to?.handover !== "rejected") problems.push(`a cold boot, and the handover is ${report.to?.handover}`);
  } else {
    const alloc = run.host.machine.kernel!.alloc;
    for (const name of names) {
      if (touched.includes(name)) {
        // A corrupted node name leaves the subtree orphaned under the name it now has.
        const phys = base.restored.get(name)!.phys;
        if (!listed(name) && !report.subtrees.orphaned.some((o) => o.phys === phys))
          problems.push(`${name}: corrupted and not in the report`);
        continue;
      }
      const got = report.subtrees.restored.find((s) => s.name === name);
      if (JSON.stringify(got) !== JSON.stringify(base.restored.get(name)))
        problems.push(`${name}: untouched, restored as ${JSON.stringify(got)}`);
      if (JSON.stringify(linesOf(report, pluginOf(name))) !== JSON.stringify(base.lines.get(name)))
        problems.push(`${name}: untouched, its plugin logged ${JSON.stringify(linesOf(report, pluginOf(name)))}`);
      for (const o of base.held.filter((h) => h.owner === pluginOf(name))) {
        if (alloc.isFree(o.pa)) problems.push(`${name}: block ${o.pa} of ${o.owner} freed`);
        else if (Buffer.compare(blockBytes(run, o), o.bytes) !== 0)
          problems.push(`${name}: block ${o.pa} of ${o.owner} changed`);
      }
    }
  }
  return { corruption: c, report, touched, problems };
}
