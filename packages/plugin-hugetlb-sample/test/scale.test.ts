import { composeKernel, LiveUpdateHost, Machine } from "@khosim/kho-core";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { describe, expect, it } from "vitest";
import { pageSamplePlugin } from "../src/bench/page-sample.js";
import { GUEST_256G, runScale } from "../src/bench/scale.js";

describe("scale", () => {
  it("8 GiB of 2 MiB folios (4096 keys) on a 64 GiB machine: preserved, kexec'd, restored, verified", () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const r = runScale({ ...GUEST_256G, nodeRam: "32GiB", folios: 4096 });
    expect(r.folios).toBe(4096);
    expect(r.guestBytes).toBe(8 * 2 ** 30);
    // 4096 folio keys, the descriptor page, ceil(4096 / 170) chain blocks, the root FDT and kexec-metadata,
    // and page-sample's descriptor and the one chunk page of its empty page-frame array.
    expect(r.keys).toBe(4096 + 1 + Math.ceil(4096 / 170) + 2 + 2);
    expect(r.hostVerifiedBytes).toBeGreaterThanOrEqual(r.guestBytes);
    // The guest data never lives in the host: far less than the 8 GiB it stands for.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(256 * 2 ** 20);
    for (const ms of Object.values(r.ms)) expect(ms).toBeGreaterThanOrEqual(0);
  });

  it("order-0 pages beside the folios: each one key, listed in a preserved vmalloc array, back at its frame", () => {
    const r = runScale({ ...GUEST_256G, nodeRam: "32GiB", folios: 64, smallPages: 4096 });
    expect(r.smallPages).toBe(4096);
    // page-sample: descriptor, 4096 pages, 8 pages of u64 frames and their one vmalloc chunk.
    expect(r.keys).toBe(64 + 1 + 1 + 2 + 1 + 4096 + 8 + 1);
    expect(r.hostVerifiedBytes).toBeGreaterThanOrEqual(r.guestBytes + 4096 * 4096);
  });
});

describe("page-sample", () => {
  const boot = () => {
    const host = new LiveUpdateHost(new Machine());
    const plugin = pageSamplePlugin(() => {});
    const kernel = (release: string) => composeKernel({ release, plugins: [kexecMetadataPlugin, plugin] });
    host.boot(kernel("A"));
    return { host, plugin, kernel };
  };

  it("restores every page at its frame (kho_restore_folio order 0) and sees a page changed after the kexec", () => {
    const { host, plugin, kernel } = boot();
    const a = host.context(plugin).state;
    a.allocate(1000, 42);
    const before = Array.from(a.pfns);
    // Half on each node, as allocated.
    expect(before.filter((pfn) => host.machine.mem.nidOf(pfn) === 1)).toHaveLength(500);
    expect(host.kexec(kernel("B")).anomalies).toEqual([]);
    const b = host.context(plugin).state;
    expect(Array.from(b.pfns)).toEqual(before);
    expect(b.verify()).toBe(0);
    const mem = host.machine.mem;
    mem.writeU8(before[7]! * mem.pageSize + 100, mem.readU8(before[7]! * mem.pageSize + 100) ^ 1);
    expect(b.verify()).toBe(1);
    // Restored pages belong to the new kernel's allocator as order-0 blocks.
    expect(host.kernel.alloc.orderOf(before[0]! * mem.pageSize)).toBe(0);
  });
});
