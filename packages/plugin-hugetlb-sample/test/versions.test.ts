import { definePlugin, LiveUpdateHost } from "@khosim/kho-core";
import { KHO_PAGE_MAGIC } from "@khosim/kho-core/kho";
import type { PhysMem } from "@khosim/kho-core/mem";
import { describe, expect, it } from "vitest";
import { type HugeFolio, hugetlb_sample_ser } from "../src/index.js";
import { hugetlb, hugetlbLog, kernel, machine } from "./helpers.js";

/** Runs after hugetlb-sample's prepare and changes what it wrote, as a newer kernel or a bug would. */
const tamper = definePlugin<{ edit: ((mem: PhysMem, serPa: number) => void) | null }>({
  name: "tamper",
  dependsOn: ["hugetlb-sample"],
  state: () => ({ edit: null }),
  outgoing: {
    prepare(ctx) {
      ctx.state.edit?.(ctx.mem, ctx.kho.subFdts.get("hugetlb-sample")!.pa);
    },
  },
});

const PAGE = 4096;

/** A cold-booted 4 KiB machine with 4 guest folios of owner 5 (three 2 MiB, one 1 GiB), filled with seed 11. */
function guest(edit: (mem: PhysMem, serPa: number) => void) {
  const host = new LiveUpdateHost(machine("4KiB"));
  host.boot(kernel("A", { extra: [tamper] }));
  const a = hugetlb(host);
  a.allocate({ size: "2MiB", count: 3, node: 0, owner: 5n });
  a.allocate({ size: "1GiB", count: 1, node: 1, owner: 5n });
  a.fill(5n, 11);
  host.context(tamper).state.edit = edit;
  return { host, folios: a.pools.all() };
}

/** Reserved by the reserve walk and never restored: the stamp is still on the head page and the pages are not free. */
function strandedIn(host: LiveUpdateHost, folios: readonly HugeFolio[]): HugeFolio[] {
  const kin = host.kernel.in!;
  const stamp = (order: number) => (BigInt(KHO_PAGE_MAGIC) << 32n) | BigInt(order);
  return folios.filter((f) => kin.pagePrivate(f.pa / PAGE) === stamp(f.order) && !host.kernel.alloc.isFree(f.pa));
}

const entryAt = (mem: PhysMem, serPa: number, i: number) =>
  Number(mem.readU64(serPa + hugetlb_sample_ser.offsetOf("entries"))) + 16 + 24 * i;

describe("versions and broken descriptors", () => {
  it("a hugetlb-sample-v2 descriptor read by a v1-only kernel is refused, its folios reported as lost memory", () => {
    const { host, folios } = guest((mem, serPa) => mem.write(serPa, new TextEncoder().encode("hugetlb-sample-v2")));
    const r = host.kexec(kernel("B"));
    expect(r.outcome).toBe("running");
    expect(r.subtrees.refused).toEqual([
      expect.objectContaining({
        name: "hugetlb-sample",
        plugin: "hugetlb-sample",
        compatible: "hugetlb-sample-v2",
        accepted: ["hugetlb-sample-v1"],
      }),
    ]);
    expect(r.subtrees.restored.map((s) => s.name)).not.toContain("hugetlb-sample");
    const b = hugetlb(host);
    expect(b.pools.size).toBe(0);
    // The stable prefix says how much: 3 x 512 + 262144 pages.
    const pages = 3 * 512 + 262144;
    expect(b.refused).toEqual({ compatible: "hugetlb-sample-v2", pages: BigInt(pages) });
    expect(hugetlbLog(host)).toContain(
      `refusing hugetlb-sample-v2 at ${r.subtrees.refused[0]!.phys} (this kernel reads hugetlb-sample-v1): ` +
        `${pages} pages (0x${(pages * PAGE).toString(16)} bytes) of huge folios stay reserved and are lost`,
    );
    // Not misread, not silently reused: every folio is still reserved and stamped, its data intact but unreachable.
    expect(strandedIn(host, folios)).toEqual(folios);
    for (const f of folios) expect(host.kernel.mem.compareSeeded(f.pa, PAGE * 2 ** f.order, 11)).toBe(-1);
  });

  it("an entry recorded on another node than its memory is refused whole, naming what stays reserved", () => {
    const { host, folios } = guest((mem, serPa) => mem.writeU32(entryAt(mem, serPa, 0) + 16, 1));
    const r = host.kexec(kernel("B"));
    expect(r.subtrees.lost).toEqual([
      expect.objectContaining({
        name: "hugetlb-sample",
        reason: expect.stringMatching(
          new RegExp(
            String.raw`entry 0 \(pfn 0x[0-9a-f]+\): recorded on node 1, the memory is on node 0; ` +
              String.raw`263680 pages \(0x40600000 bytes\) of huge folios stay reserved and are lost`,
          ),
        ),
      }),
    ]);
    expect(hugetlb(host).pools.size).toBe(0);
    expect(strandedIn(host, folios)).toEqual(folios);
    // The blob was restored and freed (kho_restore_free clears the stamp): only the folios are lost.
    const blob = Number(r.subtrees.lost[0]!.phys);
    expect(host.kernel.in!.pagePrivate(blob / PAGE)).toBe(0n);
  });

  it("a header whose per-hstate count disagrees with the chain is refused (EPROTO)", () => {
    const { host } = guest((mem, serPa) => mem.writeU64(serPa + 64, 4n));
    const r = host.kexec(kernel("B"));
    expect(r.subtrees.lost[0]?.reason).toMatch(/the chain lists 3 order-9 folios, the header 4/);
  });

  it("an entry kho_restore_folio() does not know gives back the folios restored before it and strands the rest", () => {
    // Entry 1 points at an aligned 2 MiB range nobody preserved.
    const { host, folios } = guest((mem, serPa) => mem.writeU64(entryAt(mem, serPa, 1), BigInt(0x40000000 / PAGE)));
    const r = host.kexec(kernel("B"));
    expect(r.subtrees.lost[0]?.reason).toContain(
      "folio 0x40000000 is not a preserved folio; 1 restored folios freed; " +
        "262656 pages (0x40200000 bytes) of huge folios stay reserved and are lost",
    );
    const [first, second, ...rest] = folios;
    expect(host.kernel.alloc.isFree(first!.pa)).toBe(true);
    expect(strandedIn(host, [second!, ...rest])).toEqual([second, ...rest]);
  });

  it("unknown flag bits and a misaligned pfn are refused before anything is restored", () => {
    for (const [edit, why] of [
      [(mem: PhysMem, serPa: number) => mem.writeU8(entryAt(mem, serPa, 2) + 22, 0x80), /unknown flags 0x80/],
      [(mem: PhysMem, serPa: number) => mem.writeU64(entryAt(mem, serPa, 2), 0x100001n), /not aligned to order 9/],
    ] as const) {
      const { host, folios } = guest(edit);
      const r = host.kexec(kernel("B"));
      expect(r.subtrees.lost[0]?.reason).toMatch(why);
      expect(strandedIn(host, folios)).toEqual(folios);
    }
  });
});
