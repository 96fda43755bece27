import { describe, expect, it } from "vitest";
import { inspectImage, jumpImage } from "../src/image/index.js";
import { composeKernel, definePlugin, LiveUpdateHost, Machine } from "../src/index.js";
import { MEMORY_MAP_MAX_REGIONS, type MemoryMap, memoryMapOf } from "../src/kexec/index.js";
import { blobPlugin, machine } from "./helpers/host-plugins.js";

const regions = (m: MemoryMap) => m.nodes.flatMap((n) => n.regions);
const preservedBy = (m: MemoryMap, owner: string) =>
  regions(m)
    .filter((r) => r.kind === "preserved" && r.owner === owner)
    .map((r) => [r.start, r.size]);

describe("memory map (issue 12 item 6)", () => {
  it("a kexec's map is memory at the jump: preserved ranges by the owner recorded at preserve time", () => {
    const a = blobPlugin("alpha", "node-alpha");
    const b = blobPlugin("beta", "node-beta");
    const images: ReturnType<typeof jumpImage>[] = [];
    const host = new LiveUpdateHost(machine(), {
      memoryMaps: true,
      atJump: (m, h) => images.push(jumpImage(m, h)),
    });
    host.boot(composeKernel({ release: "A", plugins: [a, b] }));
    const alphaPa = host.context(a).state.pa;
    const r = host.kexec(composeKernel({ release: "B", plugins: [a, b] }));
    expect(r.outcome).toBe("running");
    expect(host.memoryMaps).toHaveLength(2);
    const jump = host.memoryMaps[1]!;
    expect(jump.owners).toEqual(["kernel", "alpha", "beta"]);
    expect(preservedBy(jump, "alpha")).toEqual([[`0x${alphaPa.toString(16)}`, "0x1000"]]);
    // Pages by owner agree with the report's byOwner.
    for (const [owner, pages] of Object.entries(r.preserved.byOwner)) {
      const bytes = preservedBy(jump, owner).reduce((n, [, size]) => n + Number(size), 0);
      expect(bytes, owner).toBe(pages * 4096);
    }
    const kinds = new Set(regions(jump).map((x) => x.kind));
    expect([...kinds].sort()).toEqual(["kexec-segment", "poison", "preserved", "radix-node", "scratch"]);
    expect(
      regions(jump)
        .filter((x) => x.kind === "kexec-segment")
        .map((x) => x.label),
    ).toEqual(["KHO scratch array", "kernel image"]);
    // The cold boot's map: nothing poisoned, no segment, this kernel's own preservations so far.
    const cold = host.memoryMaps[0]!;
    expect(regions(cold).some((x) => x.kind === "poison" || x.kind === "kexec-segment")).toBe(false);
    expect(cold.owners).toEqual(["kernel", "alpha", "beta"]);

    // The image of that jump knows owners only through the root FDT: blobs by node, the FDT page as KHO's.
    const x = inspectImage(images[0]!, [a, b]);
    expect([...x.memoryMap.owners].sort()).toEqual(["alpha", "beta", "kernel"]);
    expect(preservedBy(x.memoryMap, "alpha")).toEqual(preservedBy(jump, "alpha"));
    expect(regions(x.memoryMap).filter((q) => q.kind === "radix-node")).toEqual(
      regions(jump).filter((q) => q.kind === "radix-node"),
    );
  });

  it("a 1 TiB machine with 256 GiB preserved is a handful of regions", () => {
    const m = new Machine({
      pageSize: "4KiB",
      ram: [
        { start: 0, size: "512GiB", nid: 0 },
        { start: "512GiB", size: "512GiB", nid: 1 },
      ],
    });
    const k = m.boot({ release: "A" });
    k.out!.actor = "pool";
    // 128 GiB on each node, in max-order blocks: 65536 keys.
    k.out!.preservePages(256 * 2 ** 30, 2 ** 25);
    k.out!.preservePages(768 * 2 ** 30, 2 ** 25);
    const map = memoryMapOf({ mem: m.mem, out: k.out, scratch: k.scratch });
    expect(preservedBy(map, "pool")).toEqual([
      ["0x4000000000", "0x2000000000"],
      ["0xc000000000", "0x2000000000"],
    ]);
    expect(regions(map).length).toBeLessThan(20);
    expect(map.omitted).toBeUndefined();
  });

  it("more regions than MEMORY_MAP_MAX_REGIONS: the smallest are left out and the map says how many", () => {
    const m = new Machine({ pageSize: "4KiB", ram: [{ start: 0, size: "1GiB", nid: 0 }] });
    const k = m.boot({ release: "A" });
    const scattered = MEMORY_MAP_MAX_REGIONS + 100;
    k.out!.actor = "scatter";
    for (let i = 0; i < scattered; i++) k.out!.preservePages(2 ** 29 + i * 2 * 4096, 1);
    const map = memoryMapOf({ mem: m.mem, out: k.out, scratch: k.scratch });
    // Counted independently: runs of preserved pages, of node pages, and the scratch areas.
    const runs = (pfns: number[]): number =>
      pfns.sort((x, y) => x - y).filter((p, i, all) => i === 0 || all[i - 1]! + 1 !== p).length;
    const preserved = runs(k.out!.preserved().map((f) => f.pa / 4096));
    const nodes = runs(k.out!.tree.nodePagePAs().map((pa) => pa / 4096));
    // Scratch areas that touch (lowmem after a node's area) are one run; an empty one is none.
    const areas = k.scratch.filter((x) => x.size > 0).sort((x, y) => x.addr - y.addr);
    const scratchRuns = areas.filter((x, i) => i === 0 || areas[i - 1]!.addr + areas[i - 1]!.size !== x.addr).length;
    const total = preserved + nodes + scratchRuns;
    expect(preserved).toBe(scattered + 1);
    expect(regions(map)).toHaveLength(MEMORY_MAP_MAX_REGIONS);
    expect(map.omitted?.regions).toBe(total - MEMORY_MAP_MAX_REGIONS);
    expect(map.omitted?.bytes).toBeGreaterThanOrEqual((total - MEMORY_MAP_MAX_REGIONS) * 4096);
    // The big ones stay: scratch is never dropped for single pages.
    expect(regions(map).filter((r) => r.kind === "scratch")).toHaveLength(scratchRuns);
  });

  it("an aborted kexec's map is the running kernel's memory", () => {
    const refuses = definePlugin({
      name: "refuses",
      outgoing: {
        prepare() {
          throw new Error("busy");
        },
      },
    });
    const host = new LiveUpdateHost(machine(), { memoryMaps: true });
    host.boot(composeKernel({ release: "A", plugins: [refuses] }));
    const r = host.kexec(composeKernel({ release: "B", plugins: [refuses] }));
    expect(r.outcome).toBe("aborted");
    expect(host.memoryMaps[1]).toEqual(host.memoryMaps[0]);
  });
});
