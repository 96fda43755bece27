import { composeKernel, hex, KhoError, LiveUpdateHost, Machine, parseSize } from "@khosim/kho-core";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { hugetlbSamplePlugin } from "../plugin.js";
import type { HugeFolio } from "../pool.js";
import { type PhaseMark, pageSamplePlugin } from "./page-sample.js";

/** A guest-memory handover: `folios` huge folios of one size, split over two nodes, one owner per node. */
export interface ScaleCase {
  readonly pageSize: string;
  /** RAM per node (two nodes). */
  readonly nodeRam: string;
  readonly folioSize: string;
  readonly folios: number;
  /** Order-0 pages preserved besides the folios (the page-sample workload, present even with 0). */
  readonly smallPages: number;
}

export interface ScaleResult {
  readonly folios: number;
  readonly guestBytes: number;
  /** Radix keys the outgoing kernel handed over (folios, descriptor, chain, KHO's own). */
  readonly keys: number;
  /** Bytes the host found identical after the jump, seeded folios included. */
  readonly hostVerifiedBytes: number;
  /** Order-0 pages that came back at their frames with their fill. */
  readonly smallPages: number;
  /**
   * Milliseconds per phase, on the clock `runScale` was given (wall by default). Setup (not part of the live update):
   * `allocate`, `fill`. The live update, split at the page-sample
   * plugin's marks: `prepare` (every plugin's prepare), `handover` (the
   * host's snapshot, loading, poisoning everything not handed over, up to
   * the next kernel's first hook), `boot` (memmap, the reserve walk, the
   * host's check of preserved contents), `restore` (the subtrees restored,
   * kho_init and init of the next kernel), `verify` (the workloads check
   * their memory).
   */
  readonly ms: {
    allocate: number;
    fill: number;
    prepare: number;
    handover: number;
    boot: number;
    restore: number;
    verify: number;
  };
}

/** The 256 GiB case: 131 072 folios of 2 MiB on a 1 TiB machine with 4 KiB pages, no small pages. */
export const GUEST_256G: ScaleCase = {
  pageSize: "4KiB",
  nodeRam: "512GiB",
  folioSize: "2MiB",
  folios: 131072,
  smallPages: 0,
};

/** The machine: GUEST_256G and 1M order-0 preserved pages (4 GiB), half on each node. */
export const LIVE_UPDATE_1T: ScaleCase = { ...GUEST_256G, smallPages: 1 << 20 };

/** Seed of the small pages on node 0 (node 1: SMALL_SEED + 1); the folios use their owners as seeds. */
const SMALL_SEED = 7;

type Mark = Parameters<PhaseMark>[0] | "restoring";

function same(a: HugeFolio, b: HugeFolio | undefined): boolean {
  return b !== undefined && a.pa === b.pa && a.order === b.order && a.node === b.node && a.owner === b.owner;
}

/**
 * Boots A, allocates and fills the guest memory and the small pages,
 * kexecs to B and checks that every folio is back where it was with its
 * order, node and owner, every small page at its frame, and all of them
 * hold their fill. Throws EPROTO on the first difference. `now` is the
 * clock of the phase times, in milliseconds.
 */
export function runScale(c: ScaleCase, now: () => number = () => performance.now()): ScaleResult {
  const nodeRam = parseSize(c.nodeRam, "nodeRam");
  const host = new LiveUpdateHost(
    new Machine({
      pageSize: c.pageSize,
      ram: [
        { start: 0, size: nodeRam, nid: 0 },
        { start: nodeRam, size: nodeRam, nid: 1 },
      ],
    }),
  );
  const marks = new Map<Mark, number>();
  const mark = (m: Mark): void => {
    marks.set(m, now());
  };
  // The first restore hook ends the boot phase: hugetlb-sample's restore runs before page-sample's.
  const restore = hugetlbSamplePlugin.incoming!.restore!;
  const hugetlb: typeof hugetlbSamplePlugin = {
    ...hugetlbSamplePlugin,
    incoming: {
      ...hugetlbSamplePlugin.incoming,
      restore: (...a: Parameters<typeof restore>) => {
        mark("restoring");
        restore(...a);
      },
    },
  };
  // page-sample comes last, so its prepare ends the prepare phase.
  const small = pageSamplePlugin(mark);
  const kernel = (release: string) => composeKernel({ release, plugins: [kexecMetadataPlugin, hugetlb, small] });
  host.boot(kernel("A"));
  const a = host.context(hugetlb).state;
  let t = now();
  const lap = (): number => {
    const at = now();
    const d = at - t;
    t = at;
    return d;
  };
  const half = Math.floor(c.folios / 2);
  a.allocate({ size: c.folioSize, count: half, node: 0, owner: 1n });
  a.allocate({ size: c.folioSize, count: c.folios - half, node: 1, owner: 2n });
  host.context(small).state.allocate(c.smallPages, SMALL_SEED);
  const allocate = lap();
  const guestBytes = a.fill(1n, 1) + a.fill(2n, 2);
  const fill = lap();
  const before = a.pools.all();
  const start = now();
  const r = host.kexec(kernel("B"));
  const done = now();
  const at = (m: Mark): number => {
    const when = marks.get(m);
    if (when === undefined || when < start) throw new KhoError("EPROTO", `the kexec never reached "${m}"`);
    return when;
  };
  const [prepared, setup, restoring] = [at("prepared"), at("setup"), at("restoring")];
  const b = host.context(hugetlb).state;
  const after = b.pools.all();
  if (r.outcome !== "running" || r.anomalies.length || after.length !== before.length)
    throw new KhoError(
      "EPROTO",
      `handover failed: ${r.outcome}, ${r.anomalies.length} anomalies, ${after.length} folios`,
    );
  before.forEach((f, i) => {
    if (!same(f, after[i])) throw new KhoError("EPROTO", `folio ${hex(f.pa)} did not come back as it was`);
  });
  for (const owner of [1n, 2n]) {
    const check = b.verify(owner, Number(owner));
    if (check.mismatchedFolios)
      throw new KhoError("EPROTO", `owner ${owner}: ${check.mismatchedFolios} folios differ: ${check.mismatches}`);
  }
  const s = host.context(small).state;
  const bad = s.verify();
  if (s.pfns.length !== c.smallPages || bad)
    throw new KhoError("EPROTO", `${s.pfns.length} of ${c.smallPages} small pages came back, ${bad} changed`);
  t = done;
  const verify = lap();
  return {
    folios: after.length,
    guestBytes,
    keys: r.preserved.blocks,
    hostVerifiedBytes: r.verified.bytes,
    smallPages: s.pfns.length,
    ms: {
      allocate,
      fill,
      prepare: prepared - start,
      handover: setup - prepared,
      boot: restoring - setup,
      restore: done - restoring,
      verify,
    },
  };
}
