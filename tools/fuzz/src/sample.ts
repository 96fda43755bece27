import { counterPlugin } from "@khosim/example-counter";
import {
  type AnyPlugin,
  composeKernel,
  definePlugin,
  LiveUpdateHost,
  type PhysMem,
  type TransitionReport,
} from "@khosim/kho-core";
import { Machine } from "@khosim/kho-core/kexec";
import { TEST_MACHINE } from "@khosim/kho-core/testing";
import { hugetlbSamplePlugin } from "@khosim/plugin-hugetlb-sample";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { luoPlugin, memfdLuoPlugin } from "@khosim/plugin-luo";

/** The plugins of the sample kernels: every built-in one and the example counter. */
export const SAMPLE_PLUGINS: readonly AnyPlugin[] = [
  kexecMetadataPlugin,
  luoPlugin,
  memfdLuoPlugin,
  hugetlbSamplePlugin,
  counterPlugin,
];

/** Where a blob the outgoing kernel hands over sits: the root FDT (name "") or one subtree. */
export interface HandedOverBlob {
  readonly name: string;
  readonly pa: number;
  readonly size: number;
  /** Its bytes at the jump, before any corruption. */
  readonly bytes: Uint8Array;
}

/** A block the outgoing kernel preserved and the plugin that preserved it ("kernel" for KHO's own). */
export interface OwnedBlock {
  readonly pa: number;
  readonly order: number;
  readonly owner: string;
  /** Its bytes at the jump, when the run was asked for them. */
  readonly atJump?: Uint8Array;
}

/** What the outgoing kernel handed over, as its prepare saw it last. */
export interface SampleJump {
  readonly mem: PhysMem;
  /** The root FDT first, then every subtree in the order it was added. */
  readonly blobs: readonly HandedOverBlob[];
  readonly preserved: readonly OwnedBlock[];
}

/** A change made to the outgoing kernel's memory after every plugin has prepared, just before the jump. */
export type Corruption = (jump: SampleJump) => void;

export interface SampleRun extends Omit<SampleJump, "mem"> {
  readonly host: LiveUpdateHost;
  /** The kexec from A to B. */
  readonly report: TransitionReport;
}

const CMDLINE = "kho=on liveupdate=on";
export const SAMPLE_MEMFD_TEXT = "sample: guest memory handed over";

/**
 * The sample handover: a cold boot of A with kexec-metadata, LUO (one
 * session holding one memfd), hugetlb-sample (two folios of an owner,
 * filled) and the example counter, then a kexec to B. `corrupt` runs as the
 * last prepare hook of A, so it sees every blob in its final state;
 * `withContents` keeps every preserved block's bytes at the jump.
 */
export function runSample(corrupt?: Corruption, opts: { readonly withContents?: boolean } = {}): SampleRun {
  let seen: Omit<SampleJump, "mem"> = { blobs: [], preserved: [] };
  const jump = definePlugin({
    name: "sample-jump",
    dependsOn: SAMPLE_PLUGINS.map((p) => p.name),
    outgoing: {
      prepare(ctx) {
        const out = ctx.kho;
        seen = {
          blobs: [
            { name: "", pa: out.fdtPa, size: ctx.mem.pageSize },
            ...[...out.subFdts].map(([name, b]) => ({ name, pa: b.pa, size: b.size })),
          ].map((b) => ({ ...b, bytes: ctx.mem.read(b.pa, b.size) })),
          preserved: out.preserved().map((f) => ({
            ...f,
            owner: out.ownerOf(f.pa, f.order),
            ...(opts.withContents ? { atJump: ctx.mem.read(f.pa, ctx.mem.pageSize * 2 ** f.order) } : {}),
          })),
        };
        corrupt?.({ mem: ctx.mem, ...seen });
      },
    },
  });
  const plugins = [...SAMPLE_PLUGINS, jump];
  const a = composeKernel({ release: "7.2.0-rc1", cmdline: CMDLINE, plugins });
  const b = composeKernel({ release: "7.2.0-rc1-b", cmdline: CMDLINE, plugins });
  const host = new LiveUpdateHost(new Machine(TEST_MACHINE));
  host.boot(a);
  host.action("luo.createSession", { name: "vm" });
  host.action("luo.preserveMemfd", { session: "vm", token: 1, text: SAMPLE_MEMFD_TEXT });
  host.action("hugetlb-sample.allocate", { size: "2MiB", count: 2, owner: 7 });
  host.action("hugetlb-sample.fill", { owner: 7, seed: 1 });
  host.action("counter.increment", { by: 3 });
  const report = host.kexec(b);
  return { host, ...seen, report };
}
