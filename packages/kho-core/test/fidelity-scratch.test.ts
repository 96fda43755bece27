import { describe, expect, it } from "vitest";
import { arm64DmaPhysLimit, earlyMapMaxPages, lowAddressLimit, X86_LOW_ADDRESS_LIMIT } from "../src/arch.js";
import { DEFAULT_MACHINE, Machine } from "../src/kexec/index.js";
import { kernelReservedBytes } from "../src/kho/index.js";
import { GiB, MiB, machineSpec } from "./helpers/kho-machine.js";

const sizes = (areas: readonly { size: number }[]) => areas.map((a) => a.size / MiB);

describe("issue 8 item 1: scratch is rounded and placed by CMA_MIN_ALIGNMENT_BYTES (one pageblock)", () => {
  it("a 2-node 4 KiB machine with kho_scratch=1M,3M,5M gets areas of 2, 4, 6 and 6 MiB, each 2 MiB aligned", () => {
    const k = new Machine(machineSpec(4096)).boot({ release: "A", cmdline: "kho=on kho_scratch=1M,3M,5M" });
    expect(sizes(k.scratch)).toEqual([2, 4, 6, 6]);
    for (const a of k.scratch) expect(a.addr % (2 * MiB)).toBe(0);
    // 2 MiB, not the 4 MiB largest buddy block: the 6 MiB areas are not 4 MiB multiples, nor all their addresses.
    expect(k.scratch.some((a) => a.addr % (4 * MiB) !== 0)).toBe(true);
  });

  it.each([
    [16384, 32],
    [65536, 512],
  ])("with %i-byte pages every area of kho_scratch=1M,3M,5M is one %i MiB pageblock", (pageSize, block) => {
    const k = new Machine(machineSpec(pageSize)).boot({
      release: "A",
      arch: "arm64",
      cmdline: "kho=on kho_scratch=1M,3M,5M",
    });
    expect(sizes(k.scratch)).toEqual([block, block, block, block]);
    for (const a of k.scratch) expect(a.addr % (block * MiB)).toBe(0);
  });

  it("the default kho sim machine's scratch follows the 2 MiB rule", () => {
    const k = new Machine(DEFAULT_MACHINE).boot({ release: "7.2.0-rc1" });
    for (const a of k.scratch) {
      expect(a.addr % (2 * MiB)).toBe(0);
      expect(a.size % (2 * MiB)).toBe(0);
    }
    // lowmem = 2 x (32 MiB image + node 0's 64 MiB memmap clipped one byte short at 0xffffffff) = 192 MiB - 2,
    // global = 2 x 160 MiB - (192 MiB - 2) = 128 MiB + 2: rounded up to 192 and 130 MiB (item 2).
    expect(sizes(k.scratch)).toEqual([192, 130, 192, 128]);
  });
});

describe("issue 8 item 2: memblock_reserved_kern_size clips at the low limit", () => {
  it("a reservation crossing ARCH_LOW_ADDRESS_LIMIT counts only the bytes below it; one above counts nothing", () => {
    const regions = [
      { start: 16 * MiB, size: 32 * MiB, nid: 0 },
      { start: 4 * GiB - 64 * MiB, size: 64 * MiB, nid: 0 },
      { start: 8 * GiB - 64 * MiB, size: 64 * MiB, nid: 1 },
    ];
    expect(kernelReservedBytes(regions, X86_LOW_ADDRESS_LIMIT)).toEqual({
      belowLowLimit: 32 * MiB + 64 * MiB - 1,
      total: 160 * MiB,
      perNode: { 0: 96 * MiB, 1: 64 * MiB },
    });
    expect(kernelReservedBytes(regions, 16 * MiB).belowLowLimit).toBe(0);
  });
});

describe("issue 8 item 3: ARCH_LOW_ADDRESS_LIMIT and the early mapping limit are per architecture", () => {
  it("x86 uses 0xffffffff; arm64 its default DMA zone limit (32 bits, capped at end of DRAM) minus one", () => {
    expect(lowAddressLimit("x86", 3 * GiB)).toBe(0xffffffff);
    expect(arm64DmaPhysLimit(8 * GiB)).toBe(4 * GiB);
    expect(lowAddressLimit("arm64", 8 * GiB)).toBe(0xffffffff);
    expect(arm64DmaPhysLimit(3 * GiB)).toBe(3 * GiB);
    expect(lowAddressLimit("arm64", 3 * GiB)).toBe(3 * GiB - 1);
  });

  it("the architecture is a kernel property: an arm64 kernel on 3 GiB of RAM keeps lowmem below 3 GiB - 1", () => {
    const spec = { pageSize: 4096, ram: [{ start: 0, size: 3 * GiB, nid: 0 }] };
    const arm = new Machine(spec).boot({ release: "A", arch: "arm64" });
    const x86 = new Machine(spec).boot({ release: "A" });
    expect(arm.arch).toBe("arm64");
    expect(arm.handoverFormat).toBe("dt");
    expect(x86.handoverFormat).toBe("x86");
    expect(arm.lowAddressLimit).toBe(3 * GiB - 1);
    expect(x86.lowAddressLimit).toBe(0xffffffff);
    expect(arm.scratch[0]!.addr + arm.scratch[0]!.size).toBeLessThanOrEqual(3 * GiB - 1);
  });

  it("NR_FIX_BTMAPS: x86 64 pages at any page size; arm64 SZ_256K / PAGE_SIZE (64, 16, 4)", () => {
    expect([4096, 16384, 65536].map((ps) => earlyMapMaxPages("x86", ps))).toEqual([64, 64, 64]);
    expect([4096, 16384, 65536].map((ps) => earlyMapMaxPages("arm64", ps))).toEqual([64, 16, 4]);
  });

  it("an unknown architecture is EINVAL", () => {
    expect(() => new Machine(machineSpec(4096)).boot({ release: "A", arch: "riscv" as "x86" })).toThrowError(
      /architecture "riscv"/,
    );
  });
});
