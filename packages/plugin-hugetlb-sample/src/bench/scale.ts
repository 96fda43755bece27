import { composeKernel, hex, KhoError, LiveUpdateHost, Machine, parseSize } from "@khosim/kho-core";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { hugetlbSamplePlugin } from "../plugin.js";
import type { HugeFolio } from "../pool.js";

/** A guest-memory handover: `folios` huge folios of one size, split over two nodes, one owner per node. */
export interface ScaleCase {
  readonly pageSize: string;
  /** RAM per node (two nodes). */
  readonly nodeRam: string;
  readonly folioSize: string;
  readonly folios: number;
}

export interface ScaleResult {
  readonly folios: number;
  readonly guestBytes: number;
  /** Radix keys the outgoing kernel handed over (folios, descriptor, chain, KHO's own). */
  readonly keys: number;
  /** Bytes the host found identical after the jump, seeded folios included. */
  readonly hostVerifiedBytes: number;
  /** Milliseconds per phase. */
  readonly ms: { allocate: number; fill: number; kexec: number; verify: number };
}

/** The 256 GiB case: 131 072 folios of 2 MiB on a 1 TiB machine with 4 KiB pages. */
export const GUEST_256G: ScaleCase = { pageSize: "4KiB", nodeRam: "512GiB", folioSize: "2MiB", folios: 131072 };

const kernel = (release: string) => composeKernel({ release, plugins: [kexecMetadataPlugin, hugetlbSamplePlugin] });

function same(a: HugeFolio, b: HugeFolio | undefined): boolean {
  return b !== undefined && a.pa === b.pa && a.order === b.order && a.node === b.node && a.owner === b.owner;
}

/**
 * Boots A, allocates and fills the guest memory, kexecs to B and checks
 * that every folio is back where it was with its order, node and owner,
 * and holds its fill. Throws EPROTO on the first difference.
 */
export function runScale(c: ScaleCase): ScaleResult {
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
  host.boot(kernel("A"));
  const a = host.context(hugetlbSamplePlugin).state;
  let t = performance.now();
  const lap = (): number => {
    const now = performance.now();
    const d = now - t;
    t = now;
    return Math.round(d);
  };
  const half = Math.floor(c.folios / 2);
  a.allocate({ size: c.folioSize, count: half, node: 0, owner: 1n });
  a.allocate({ size: c.folioSize, count: c.folios - half, node: 1, owner: 2n });
  const allocate = lap();
  const guestBytes = a.fill(1n, 1) + a.fill(2n, 2);
  const fill = lap();
  const before = a.pools.all();
  const r = host.kexec(kernel("B"));
  const kexec = lap();
  const b = host.context(hugetlbSamplePlugin).state;
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
  const verify = lap();
  return {
    folios: after.length,
    guestBytes,
    keys: r.preserved.blocks,
    hostVerifiedBytes: r.verified.bytes,
    ms: { allocate, fill, kexec, verify },
  };
}
