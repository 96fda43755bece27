import { definePlugin, LiveUpdateHost } from "@khosim/kho-core";
import { describe, expect, it } from "vitest";
import {
  HUGETLB_SAMPLE_FOLIO_PINNED,
  hugePageSizes,
  hugetlb_sample_folio_ser,
  hugetlb_sample_ser,
} from "../src/index.js";
import { hugetlb, hugetlbLog, identity, kernel, MACHINES, machine } from "./helpers.js";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe("huge page sizes per base page size", () => {
  it("are the PMD and PUD sizes: 4 KiB 2 MiB + 1 GiB, 16 KiB 32 MiB + 64 GiB, 64 KiB 512 MiB", () => {
    expect(hugePageSizes(4096).map((s) => [s.order, s.bytes])).toEqual([
      [9, 2 * MiB],
      [18, GiB],
    ]);
    expect(hugePageSizes(16384).map((s) => [s.order, s.bytes])).toEqual([
      [11, 32 * MiB],
      [22, 64 * GiB],
    ]);
    expect(hugePageSizes(65536).map((s) => [s.order, s.bytes])).toEqual([[13, 512 * MiB]]);
  });
});

describe.each(Object.keys(MACHINES) as (keyof typeof MACHINES)[])("a kexec with %s pages", (ps) => {
  it("brings every folio back at the same physical address with its order, node, owner and flags", () => {
    const host = new LiveUpdateHost(machine(ps));
    host.boot(kernel("A"));
    const a = hugetlb(host);
    const [pmd, pud] = a.pools.sizes;
    a.allocate({ size: pmd!.bytes, count: 5, node: 0, owner: 7n });
    a.allocate({ size: pmd!.bytes, count: 3, node: 1, owner: 0x1_0000_0000_0001n, pinned: true });
    a.allocate({ size: (pud ?? pmd)!.bytes, count: 2, node: 1, owner: 9n });
    a.allocate({ size: pmd!.bytes, count: 1, node: 0 }); // a free folio of the pool: owner 0
    const before = identity(a.pools.all());
    const counts = a.pools.counts();
    a.fill(7n, 0xdeadbeef);
    a.fill(9n, 1);

    const r = host.kexec(kernel("B"));
    expect(r.outcome).toBe("running");
    expect(r.to?.bootKind).toBe("kho");
    expect(r.subtrees.restored.map((s) => [s.name, s.compatible])).toContainEqual([
      "hugetlb-sample",
      "hugetlb-sample-v1",
    ]);
    expect(r.subtrees.lost).toEqual([]);
    expect(r.anomalies).toEqual([]);
    // Each folio is one radix key of its order; the blob page and the chain's one block are order 0.
    const orders = a.pools.sizes.map((s) => String(s.order));
    expect(Object.keys(r.preserved.byOrder).filter((o) => o !== "0")).toEqual(pud ? orders : [String(pmd!.order)]);
    expect(r.preserved.byOrder[pmd!.order]).toBe(pud ? 9 : 11);

    const b = hugetlb(host);
    expect(b).not.toBe(a);
    expect(identity(b.pools.all())).toEqual(before);
    expect(b.pools.counts()).toEqual(counts);
    expect(b.pools.all().filter((f) => f.flags === HUGETLB_SAMPLE_FOLIO_PINNED)).toHaveLength(3);
    expect(b.incoming).toMatchObject({ compatible: "hugetlb-sample-v1", folios: 11 });
    // The folios are this kernel's now: allocated blocks of their order, not free memory.
    for (const f of b.pools.all()) expect(host.kernel.alloc.orderOf(f.pa)).toBe(f.order);
    expect(hugetlbLog(host)).toContain(
      `restored 11 huge folios (0x${b.incoming!.bytes.toString(16)} bytes) from hugetlb-sample-v1`,
    );
    // Contents: seeded fill checked in place, nothing copied.
    expect(b.verify(7n, 0xdeadbeef)).toMatchObject({ folios: 5, mismatchedFolios: 0 });
    expect(b.verify(9n, 1)).toMatchObject({ folios: 2, mismatchedFolios: 0 });
    expect(b.verify(9n, 2).mismatchedFolios).toBe(2);
    // The host's own check covered the seeded folios too, without reading them into host memory.
    expect(r.verified.bytes).toBeGreaterThanOrEqual(5 * pmd!.bytes + 2 * (pud ?? pmd)!.bytes);
    expect(r.verified.mismatches).toBe(0);
  });
});

describe("the descriptor", () => {
  it("is laid out as declared and written byte for byte; a later prepare failing undoes it all", () => {
    expect(hugetlb_sample_ser.size).toBe(120);
    expect(hugetlb_sample_ser.members.map((m) => [m.name, m.offset])).toEqual([
      ["compatible", 0],
      ["total_pages", 32],
      ["entries", 40],
      ["nr_hstates", 48],
      ["reserved", 52],
      ["hstates", 56],
    ]);
    expect(hugetlb_sample_folio_ser.size).toBe(24);
    const host = new LiveUpdateHost(machine("4KiB"));
    host.boot(kernel("A", { extra: [kexecStop] }));
    const a = hugetlb(host);
    const [f] = a.allocate({ size: "1GiB", count: 1, node: 1, owner: 0x1122334455667788n, pinned: true });
    a.allocate({ size: "2MiB", count: 2, node: 0, owner: 3n });
    host.context(kexecStop).state.stop = true;
    const r = host.kexec(kernel("B", { extra: [kexecStop] }));
    expect(r.outcome).toBe("aborted");
    // prepare wrote the blob before the later plugin failed; abort zeroed it again.
    expect(host.kernel.mem.read(a.serPa, hugetlb_sample_ser.size)).toEqual(new Uint8Array(120));
    expect(written.length).toBe(1);
    const [blob, entries] = written[0]!;
    const head = new DataView(blob.buffer).getBigUint64(40, true);
    expect(head % 4096n).toBe(0n);
    expect(head).not.toBe(0n);
    const want = new Uint8Array(120);
    const v = new DataView(want.buffer);
    want.set(new TextEncoder().encode("hugetlb-sample-v1"), 0);
    v.setBigUint64(32, BigInt(2 ** 18 + 2 * 2 ** 9), true);
    v.setBigUint64(40, head, true);
    v.setUint32(48, 2, true);
    v.setUint32(56, 9, true);
    v.setBigUint64(64, 2n, true);
    v.setUint32(72, 18, true);
    v.setBigUint64(80, 1n, true);
    expect(blob).toEqual(want);
    // First block: next 0, count 3, then the entries in address order (the two 2 MiB folios, then 1 GiB).
    const e = new DataView(entries.buffer);
    expect(e.getBigUint64(0, true)).toBe(0n);
    expect(e.getBigUint64(8, true)).toBe(3n);
    const third = 16 + 2 * 24;
    expect(e.getBigUint64(third, true)).toBe(BigInt(f!.pa / 4096));
    expect(e.getBigUint64(third + 8, true)).toBe(0x1122334455667788n);
    expect(e.getUint32(third + 16, true)).toBe(1);
    expect(e.getUint16(third + 20, true)).toBe(18);
    expect(e.getUint16(third + 22, true)).toBe(HUGETLB_SAMPLE_FOLIO_PINNED);
    // Abort left no folio key and no block behind, and the pools are usable again.
    const keys: number[] = [];
    host.kernel.out!.tree.walk((_pa, order) => {
      keys.push(order);
      return 0;
    });
    expect(keys.filter((o) => o > 0)).toEqual([]);
    expect(host.kernel.alloc.isFree(Number(head))).toBe(true);
    expect(a.frozen).toBe(false);
    expect(hugetlbLog(host)).toContain("kexec aborted: huge folios unpreserved, pools thawed");
    expect(a.allocate({ size: "2MiB", count: 1, node: 0 })).toHaveLength(1);
  });
});

/** The blob and first block as hugetlb-sample's prepare left them, captured by a plugin that runs after it. */
const written: [Uint8Array, Uint8Array][] = [];
const kexecStop = definePlugin<{ stop: boolean }>({
  name: "kexec-stop",
  dependsOn: ["hugetlb-sample"],
  state: () => ({ stop: false }),
  outgoing: {
    prepare(ctx) {
      if (!ctx.state.stop) return;
      const serPa = ctx.kho.subFdts.get("hugetlb-sample")!.pa;
      const blob = ctx.mem.read(serPa, 120);
      const head = Number(new DataView(blob.buffer).getBigUint64(40, true));
      written.push([blob, ctx.mem.read(head, 4096)]);
      throw new Error("stop here");
    },
  },
});
