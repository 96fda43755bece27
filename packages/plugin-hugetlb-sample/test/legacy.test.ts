import { LiveUpdateHost } from "@khosim/kho-core";
import { KhoRadixTree } from "@khosim/kho-core/radix";
import { describe, expect, it } from "vitest";
import { hugetlb_sample_ser, serialize } from "../src/index.js";
import { hugetlb, kernel, machine } from "./helpers.js";

const PAGE = 16384;

/**
 * Kernel A (16 KiB pages) holds three 32 MiB and one 64 GiB folio and writes
 * the descriptor as prepare does; the tree it built is then walked the way
 * the next kernel's kho_memory_init() walks it, with A's depth.
 */
function handedOver(legacyRadixDepth: boolean) {
  const host = new LiveUpdateHost(machine("16KiB"));
  host.boot(kernel("A", { legacyRadixDepth }));
  const a = hugetlb(host);
  a.allocate({ size: "32MiB", count: 3, node: 0, owner: 1n });
  a.allocate({ size: "64GiB", count: 1, node: 1, owner: 2n });
  const out = host.kernel.out!;
  const done = serialize(host.kernel.mem, out, a.serPa, a.pools.all(), () => {});
  // Every order-0 preservation KHO and the plugins made: root FDT, kexec-metadata blob, descriptor, chain.
  const order0 = [out.fdtPa, out.subFdts.get("kexec-metadata")!.pa, a.serPa, ...done.blocks.blocks];
  const walked: string[] = [];
  KhoRadixTree.adopt(host.kernel.mem, out.tree.root, { legacyDepth: legacyRadixDepth }).walk((pa, order) => {
    walked.push(`${pa.toString(16)}/${order}`);
    return 0;
  });
  const ramEnd = Math.max(...host.kernel.mem.ranges.map((r) => r.start + r.size));
  return { folios: a.pools.all().map((f) => `${f.pa.toString(16)}/${f.order}`), order0, walked, ramEnd };
}

describe("16 KiB pages and the radix depth bug (d64b0372760e)", () => {
  it("with legacyRadixDepth every order-0 preservation is lost while the plugin's high-order folios are not", () => {
    const { folios, order0, walked, ramEnd } = handedOver(true);
    expect(hugetlb_sample_ser.size).toBeLessThan(PAGE); // the descriptor is one order-0 page
    // The high-order side: each folio's key comes back at its address with its order.
    for (const f of folios) expect(walked).toContain(f);
    // The order-0 side: the order bit (key bit 50) is above the depth-4 root, so no order-0 key survives;
    // what the walk yields instead decodes to huge orders far beyond RAM.
    for (const pa of order0) expect(walked).not.toContain(`${pa.toString(16)}/0`);
    const bogus = walked.filter((w) => !folios.includes(w));
    expect(bogus.length).toBeGreaterThan(0);
    for (const w of bogus) {
      const [pa, order] = w.split("/");
      expect(Number(order)).toBeGreaterThan(22);
      expect(Number.parseInt(pa!, 16)).toBeGreaterThanOrEqual(ramEnd);
    }
  });

  it("with the fixed depth the same handover keeps both sides", () => {
    const { folios, order0, walked } = handedOver(false);
    expect(walked.toSorted()).toEqual([...folios, ...order0.map((pa) => `${pa.toString(16)}/0`)].toSorted());
  });
});
