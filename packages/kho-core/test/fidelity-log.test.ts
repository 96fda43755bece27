import { describe, expect, it } from "vitest";
import type { Kernel } from "../src/kexec/index.js";
import { VM_ALLOC } from "../src/kho/index.js";
import { coldBoot, GiB, inOf, machineSpec } from "./helpers/kho-machine.js";

/**
 * Every `KHO: ` line format the v7.2-rc1 kernel prints that khosim models,
 * from kernel/liveupdate/kexec_handover.c (pr_fmt "KHO: ") and the
 * kexec-metadata code in the same file. A line khosim prints that matches
 * none of these is one the kernel never prints.
 */
const KERNEL_KHO_LINES: readonly RegExp[] = [
  /^found kexec handover data\.$/,
  /^disabling KHO revival$/,
  /^setup: failed to memremap FDT \(0x[0-9a-f]+\)$/,
  /^setup: handover FDT \(0x[0-9a-f]+\) is invalid: -?\d+$/,
  /^setup: handover FDT \(0x[0-9a-f]+\) is incompatible with 'kho-v4': -?\d+$/,
  /^failed to get preserved memory map$/,
  /^setup: failed to memremap scratch \(phys=0x[0-9a-f]+, len=-?\d+\)$/,
  /^scratch scale is -?\d+%$/,
  /^scratch areas: lowmem: \d+MiB global: \d+MiB pernode: -?\d+MiB$/,
  /^Failed to reserve (scratch array|lowmem scratch buffer|global scratch buffer|nid \d+ scratch buffer)$/,
  /^Failed to reserve scratch area, disabling kexec handover$/,
  /^broken KHO subnode '[^']*': missing or invalid blob-size property$/,
  /^exec from: .* \(count \d+\)$/,
  /^kexec-metadata blob too small \(\d+ bytes\)$/,
  /^kexec-metadata version \d+ not supported \(expected 1\)$/,
  /^kexec-metadata blob too small for v\d+ \(\d+ < 73\)$/,
  /^failed to initialize kexec-metadata subtree: -?\d+$/,
];

function khoLines(k: Kernel): string[] {
  return k.log.lines.filter((l) => l.prefix === "KHO: ").map((l) => l.text);
}

describe("issue 8 item 10: the kernel log holds only lines the kernel prints", () => {
  it("every KHO: line of a cold boot, a KHO kexec, a kho=off kexec and rejected handovers is a kernel format", () => {
    const kernels: Kernel[] = [];
    const { machine, k, out } = coldBoot(machineSpec(4096));
    kernels.push(k);
    const f = { pa: k.alloc.alloc(3), order: 3 };
    out.preserveFolio(f);
    const b = machine.kexec({ release: "B", cmdline: "kho=on kho_scratch=50% kho_scratch=1x" });
    kernels.push(b);
    inOf(b).restoreFolio(f.pa + 4096); // a tail page: WARN_ON_ONCE, not a KHO: line
    inOf(b).restoreFree(f.pa + 4096);
    const c = machine.kexec({ release: "C", cmdline: "kho=off" });
    kernels.push(c, machine.kexec({ release: "D", cmdline: "kho=on kho_scratch=1M,1M,64G" }));
    const lines = kernels.flatMap(khoLines);
    expect(lines).toContain("found kexec handover data.");
    expect(lines).toContain("Failed to reserve scratch area, disabling kexec handover");
    for (const line of lines)
      expect(
        KERNEL_KHO_LINES.some((re) => re.test(line)),
        line,
      ).toBe(true);
    // The WARN splats carry the kernel's condition in a note.
    expect(b.log.toString()).toContain("WARNING: at kernel/liveupdate/kexec_handover.c kho_restore_page\n");
    expect(b.log.toString()).toContain("WARNING: at kernel/liveupdate/kexec_handover.c kho_restore_free\n");
    expect(b.log.notes).toContainEqual(expect.stringMatching(/^WARN_ON_ONCE\(info\.magic != KHO_PAGE_MAGIC\)/));
    expect(b.log.notes).toContainEqual(expect.stringMatching(/^WARN_ON\(!folio\) in kho_restore_free/));
  });

  it("the reserve walk's summary and rc1's int-sized reservation of a 2 GiB block are notes, not log lines", () => {
    const { machine, k, out } = coldBoot(machineSpec(4096));
    const big = { pa: k.alloc.alloc(19), order: 19 }; // 2 GiB: 1 << (19 + 12) overflows C int
    out.preserveFolio(big);
    const b = machine.kexec({ release: "B" });
    expect(b.log.notes).toContainEqual(
      expect.stringContaining(`reserve of order-19 block at 0x${big.pa.toString(16)}`),
    );
    expect(b.log.notes).toContainEqual(expect.stringMatching(/^reserve walk: 2 preserved blocks reserved/));
    expect(b.log.lines.some((l) => /reserve|walk/.test(l.text))).toBe(false);
  });
});

describe("issue 8 item 11: where the kernel would crash the simulator refuses and reports a hazard", () => {
  it("a radix table entry outside RAM: the v7.2-rc1 kernel would fault; the walk is refused, not logged", () => {
    const { machine, k, out } = coldBoot(machineSpec(4096));
    out.preserveFolio({ pa: k.alloc.alloc(0), order: 0 });
    const b = machine.kexec(
      { release: "B" },
      {
        // After kho_populate, before the walk: point the root's first used slot past the end of RAM.
        early: (kernel) => {
          const root = inOf(kernel).memMapPa;
          for (let slot = 0; slot < 512; slot++) {
            if (kernel.mem.readU64(root + 8 * slot) !== 0n) {
              kernel.mem.writeU64(root + 8 * slot, BigInt(64 * GiB));
              break;
            }
          }
        },
      },
    );
    expect(b.log.hazards).toEqual([
      expect.stringMatching(/0x1000000000 .*is not RAM.*the v7\.2-rc1 kernel would fault here$/),
    ]);
    expect(b.bootKind).toBe("cold");
    expect(b.handover).toBe("rejected");
    expect(b.log.lines.some((l) => /walk|not RAM/.test(l.text))).toBe(false);
    expect(b.state).toBe("running");
  });

  it("a kho_vmalloc whose first chunk lies outside RAM: the kernel would fault; restore is NULL with a hazard", () => {
    const { machine, k, out } = coldBoot(machineSpec(4096));
    const pages = [k.alloc.alloc(0), k.alloc.alloc(0)];
    const v = out.preserveVmalloc({ nrPages: 2, order: 0, vmFlags: VM_ALLOC, pages });
    const b = machine.kexec({ release: "B" });
    expect(inOf(b).restoreVmalloc({ ...v, first: BigInt(64 * GiB) })).toBeNull();
    expect(b.log.hazards).toEqual([expect.stringMatching(/^kho_restore_vmalloc: .*not RAM.*would fault here$/)]);
    expect(inOf(b).restoreVmalloc(v)?.pages).toEqual(pages);
  });

  it("a record whose FDT lies outside RAM: a hazard, no invented kernel message, and a cold boot", () => {
    const { machine } = coldBoot(machineSpec(4096));
    const record = { fdtPa: 64 * GiB, fdtSize: 4096, scratchPa: 0x300000, scratchSize: 64 };
    const k = machine.bootWith({ release: "B" }, { imagePa: 16 << 20, record, recordBytes: null });
    expect(k.log.hazards).toEqual([expect.stringMatching(/^kho_populate: .*0x1000000000.*not RAM.*or faults$/)]);
    expect(khoLines(k)).toEqual([]);
    expect(k.handover).toBe("rejected");
  });
});
