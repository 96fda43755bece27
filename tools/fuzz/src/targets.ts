import { KhoError, runScenarioData, type SubtreeVersion } from "@khosim/kho-core";
import { decodeBlob, decodeRootFdt } from "@khosim/kho-core/debugfs";
import { checkFull, FdtSw, parseFdt, toCanon, toDts } from "@khosim/kho-core/fdt";
import {
  bootFromImage,
  decodeImage,
  encodeImage,
  type HandoverImage,
  imageInfo,
  kexecToImage,
} from "@khosim/kho-core/image";
import { Machine } from "@khosim/kho-core/kexec";
import type { PhysMem } from "@khosim/kho-core/mem";
import { TEST_MACHINE } from "@khosim/kho-core/testing";
import { checkHookFailures, type Outcome, underContract } from "./contract.js";
import { type HandedOverBlob, runSample, SAMPLE_MEMFD_TEXT, SAMPLE_PLUGINS, type SampleJump } from "./sample.js";
import { sweepBaseline, sweepOne } from "./sweep.js";

/**
 * One decoder under fuzzing: valid inputs to mutate, and `exec`, which
 * decodes one input under the error contract. `exec` is the only way the
 * tests and the campaign call a decoder, so the contract is asserted in
 * one place: it returns the outcome or throws ContractViolation.
 */
export interface FuzzTarget {
  readonly name: string;
  readonly summary: string;
  seeds(): readonly Uint8Array[];
  exec(input: Uint8Array): Outcome;
}

interface TargetSpec {
  readonly name: string;
  readonly summary: string;
  seeds(): readonly Uint8Array[];
  decode(input: Uint8Array): void;
}

function defineTarget(spec: TargetSpec): FuzzTarget {
  let seeds: readonly Uint8Array[] | null = null;
  return {
    name: spec.name,
    summary: spec.summary,
    seeds: () => {
      seeds ??= spec.seeds();
      return seeds;
    },
    exec: (input) => underContract(spec.name, () => spec.decode(input)),
  };
}

let sample: { blobs: readonly HandedOverBlob[]; regions: ReadonlyMap<string, Uint8Array> } | null = null;

/** Where each memory target writes its input, at the jump of the sample handover. */
const REGIONS: Record<string, (j: Omit<SampleJump, "mem">, pageSize: number) => { pa: number; size: number }[]> = {
  "handover-fdt": (j) => [j.blobs[0]!],
  "luo-pages": (j, ps) => j.preserved.filter((o) => o.owner === "luo").map((o) => ({ pa: o.pa, size: ps << o.order })),
};

function regionsOf(name: string, j: Omit<SampleJump, "mem">, pageSize: number): { pa: number; size: number }[] {
  const fixed = REGIONS[name];
  if (fixed) return fixed(j, pageSize);
  const blob = j.blobs.find((b) => `subtree-${b.name.toLowerCase()}` === name);
  return blob ? [blob] : [];
}

/** The sample's blobs and every memory target's region bytes at the jump, taken once. */
function sampleRegions(): NonNullable<typeof sample> {
  if (sample) return sample;
  const regions = new Map<string, Uint8Array>();
  const run = runSample((jump) => {
    for (const name of MEMORY_TARGETS) {
      const parts = regionsOf(name, jump, jump.mem.pageSize).map((r) => jump.mem.read(r.pa, r.size));
      regions.set(name, Buffer.concat(parts));
    }
  });
  sample = { blobs: run.blobs, regions };
  return sample;
}

/**
 * A target over the sample handover's memory: the input overwrites its
 * regions at the jump (as far as it reaches; a shorter input leaves the
 * rest as it was), B boots, and every plugin hook's failure must be a
 * KhoError or the kernel's panic.
 */
function memoryTarget(name: string, summary: string): FuzzTarget {
  return defineTarget({
    name,
    summary,
    seeds: () => [sampleRegions().regions.get(name)!],
    decode(input) {
      const run = runSample((jump) => writeAcross(jump.mem, regionsOf(name, jump, jump.mem.pageSize), input));
      checkHookFailures(name, run.report);
    },
  });
}

const MEMORY_TARGETS = [
  "handover-fdt",
  "subtree-kexec-metadata",
  "subtree-luo",
  "subtree-hugetlb-sample",
  "subtree-counter",
  "luo-pages",
] as const;

/** Writes `input` over the regions in turn, as far as it reaches. */
function writeAcross(mem: PhysMem, regions: readonly { pa: number; size: number }[], input: Uint8Array): void {
  let at = 0;
  for (const r of regions) {
    if (at >= input.length) break;
    const part = input.subarray(at, at + r.size);
    mem.write(r.pa, part);
    at += part.length;
  }
}

let radix: { image: HandoverImage; nodes: { pa: number; size: number }[]; seed: Uint8Array } | null = null;

/**
 * A handover image whose radix tree has several node pages: 64 folios of
 * orders 0 to 3 spread over both RAM ranges. The outgoing kernel walks its
 * own tree at kexec, so the input goes in after the jump: in the next
 * kernel's early hook, after kho_populate and before the reserve walk.
 */
function radixImage(): NonNullable<typeof radix> {
  if (radix) return radix;
  const m = new Machine(TEST_MACHINE);
  const a = m.boot({ release: "7.2.0-rc1-a" });
  for (let i = 0; i < 64; i++) {
    const order = i % 4;
    const pa = a.alloc.alloc(order);
    m.mem.write(pa, Uint8Array.of(i));
    a.out!.preserveFolio({ pa, order });
  }
  const nodes = a.out!.tree.nodePagePAs().map((pa) => ({ pa, size: m.mem.pageSize }));
  const { image } = kexecToImage(m, { release: "7.2.0-rc1-b" });
  const seed = Buffer.concat(nodes.map((n) => readImage(image, n.pa, n.size)));
  radix = { image, nodes, seed };
  return radix;
}

/** Bytes of the image at `pa` (zero where a load's tail is not written). */
function readImage(image: HandoverImage, pa: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (const l of image.loads) {
    const from = Math.max(pa, l.pa);
    const to = Math.min(pa + size, l.pa + l.data.length);
    if (from < to) out.set(l.data.subarray(from - l.pa, to - l.pa), from - pa);
  }
  return out;
}

/** A small DTB with what the sample's root lacks: nesting, a memory reservation, string lists, phandles. */
function richDtb(): Uint8Array {
  const sw = FdtSw.create(2048);
  sw.addReservemapEntry(0x1000n, 0x2000n);
  sw.finishReservemap();
  sw.beginNode("");
  sw.propertyString("compatible", "vendor,board");
  sw.property("#address-cells", Uint8Array.of(0, 0, 0, 2));
  sw.beginNode("soc@1000");
  sw.property("reg", Uint8Array.of(0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x10, 0));
  sw.property("compatible", new TextEncoder().encode("a,b\0c,d\0"));
  sw.beginNode("child");
  sw.property("phandle", Uint8Array.of(0, 0, 0, 1));
  sw.propertyEmpty("empty");
  sw.endNode();
  sw.endNode();
  sw.endNode();
  return sw.finish();
}

function fdtSeeds(): Uint8Array[] {
  return [sampleRegions().blobs[0]!.bytes, richDtb()];
}

/** A small handover image: one preserved folio of data, kexec-metadata, no LUO. */
function imageSeed(): Uint8Array {
  const m = new Machine(TEST_MACHINE);
  const a = m.boot({ release: "7.2.0-rc1-a" });
  const pa = a.alloc.alloc(1);
  m.mem.write(pa, new TextEncoder().encode(SAMPLE_MEMFD_TEXT));
  a.out!.preserveFolio({ pa, order: 1 });
  return encodeImage(kexecToImage(m, { release: "7.2.0-rc1-b" }).image);
}

const SCENARIO = {
  name: "fuzz",
  machine: {
    pageSize: "4KiB",
    ram: [
      { start: 0, size: "256MiB" },
      { start: "1GiB", size: "256MiB" },
    ],
  },
  kernels: { A: { release: "7.2.0-rc1", cmdline: "kho=on liveupdate=on", plugins: SAMPLE_PLUGINS.map((p) => p.name) } },
  steps: [
    { boot: "A" },
    { action: "luo.createSession", args: { name: "vm" } },
    { action: "counter.increment", args: { by: 2 } },
    { kexec: "A" },
    { expect: { restored: ["counter"] } },
  ],
};

const VERSIONS: readonly SubtreeVersion[] = SAMPLE_PLUGINS.flatMap((p) => p.subtrees ?? []);
const SUBTREE_NAMES = ["kexec-metadata", "LUO", "hugetlb-sample", "counter"] as const;

/** The single-byte sweep found an untouched subtree lost or changed, or a corrupted one unreported. */
export class DataLoss extends Error {
  override readonly name = "DataLoss";
}

/**
 * One corruption of the sweep per input, chosen by its first four bytes
 * (blob, offset, XOR value), so the campaign covers every value the CI
 * sweep (two values per byte) does not.
 */
function sweepTarget(): FuzzTarget {
  return defineTarget({
    name: "single-byte-sweep",
    summary: "one byte of the root FDT or a subtree blob XORed at the jump: nothing untouched is lost",
    seeds: () => [Uint8Array.of(0, 0, 0, 0xff)],
    decode(b) {
      const base = sweepBaseline();
      const blob = base.blobs[(b[0] ?? 0) % base.blobs.length]!;
      const size = blob.name === "" ? base.fdtTotalsize : blob.size;
      const offset = (((b[1] ?? 0) << 8) | (b[2] ?? 0)) % size;
      const c = { blob: blob.name, offset, xor: b[3] || 0xff };
      const { problems } = sweepOne(c);
      if (problems.length) throw new DataLoss(`${c.blob || "root FDT"}+${offset} ^${c.xor}: ${problems.join("; ")}`);
    },
  });
}

/** Every decoder of hostile input, by name. */
export const TARGETS: readonly FuzzTarget[] = [
  defineTarget({ name: "fdt-check", summary: "fdt_check_full", seeds: fdtSeeds, decode: (b) => checkFull(b) }),
  defineTarget({ name: "fdt-parse", summary: "a DTB as a tree", seeds: fdtSeeds, decode: (b) => void parseFdt(b) }),
  defineTarget({ name: "fdt-dts", summary: "dtc -O dts", seeds: fdtSeeds, decode: (b) => void toDts(b) }),
  defineTarget({ name: "fdt-canon", summary: "canonical text", seeds: fdtSeeds, decode: (b) => void toCanon(b) }),
  defineTarget({
    name: "debugfs-root",
    summary: "a copy of kho/in/fdt",
    seeds: fdtSeeds,
    decode: (b) => void decodeRootFdt("in/fdt", b),
  }),
  defineTarget({
    name: "debugfs-blob",
    summary: "a copy of kho/in/sub_fdts/NAME, decoded by the plugins' versions, under every NAME",
    seeds: () =>
      sampleRegions()
        .blobs.slice(1)
        .map((b) => b.bytes),
    decode: (b) => {
      for (const name of SUBTREE_NAMES) void decodeBlob(name, `in/sub_fdts/${name}`, b, null, VERSIONS);
    },
  }),
  defineTarget({
    name: "image",
    summary: "an ELF64 handover image: decode and summarise",
    seeds: () => [imageSeed()],
    decode: (b) => void imageInfo(decodeImage(b)),
  }),
  defineTarget({
    name: "scenario",
    summary: "a scenario document (JSON): validate and run",
    seeds: () => [new TextEncoder().encode(JSON.stringify(SCENARIO))],
    decode: (b) => {
      let data: unknown;
      try {
        data = JSON.parse(new TextDecoder().decode(b));
      } catch {
        return; // not JSON: a file reader's business, not the scenario decoder's
      }
      void runScenarioData(data, SAMPLE_PLUGINS);
    },
  }),
  memoryTarget("handover-fdt", "the root FDT at the jump: kho_populate and every kho_retrieve_subtree"),
  memoryTarget("subtree-kexec-metadata", "the kexec-metadata blob at the jump"),
  memoryTarget("subtree-luo", "LUO's luo_ser blob at the jump: session chains, then files and memfd"),
  memoryTarget("subtree-hugetlb-sample", "the hugetlb-sample descriptors at the jump"),
  memoryTarget("subtree-counter", "the example counter's blob at the jump"),
  defineTarget({
    name: "radix-pages",
    summary: "the radix tree's node pages of a handover image, as the next kernel's reserve walk reads them",
    seeds: () => [radixImage().seed],
    decode: (b) => {
      const { image, nodes } = radixImage();
      bootFromImage(image, { release: "7.2.0-rc1-b" }, { early: (k) => writeAcross(k.mem, nodes, b) });
    },
  }),
  memoryTarget("luo-pages", "LUO's preserved pages at the jump: session and file block sets, memfd state"),
  sweepTarget(),
];

export function targetNamed(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new KhoError("ENOENT", `no fuzz target "${name}"; targets: ${TARGETS.map((x) => x.name).join(", ")}`);
  return t;
}
