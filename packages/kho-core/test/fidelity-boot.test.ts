import { describe, expect, it } from "vitest";
import { FdtSw } from "../src/fdt/index.js";
import { composeKernel, LiveUpdateHost } from "../src/host/index.js";
import { Cmdline, decodeDtRecord, decodeX86Record, encodeX86Record, type Kernel, Machine } from "../src/kexec/index.js";
import { type HandoverRecord, KhoIn } from "../src/kho/index.js";
import { KernelLog } from "../src/log.js";
import { PageAllocator, type PhysMem } from "../src/mem/index.js";
import { coldBoot, fillFolio, inOf, MiB, machineSpec, Rng } from "./helpers/kho-machine.js";

describe("issue 8 item 4: kho=off after a KHO kexec honours the handover; only kho_init returns early", () => {
  function kexecIntoKhoOff() {
    const { machine, k, out } = coldBoot();
    const rng = new Rng(8);
    const folios = [0, 3, 9].map((order) => ({ pa: k.alloc.alloc(order), order }));
    const data = folios.map((f) => fillFolio(k, f, rng));
    for (const f of folios) out.preserveFolio(f);
    const preserved = out.preserved();
    const b = machine.kexec({ release: "B", cmdline: "kho=off" });
    return { machine, b, folios, data, preserved };
  }

  it("populate and the reserve walk run: every preserved page stays reserved, none handed to the allocator", () => {
    const { b, preserved } = kexecIntoKhoOff();
    expect(b.khoEnabled).toBe(false);
    expect(b.bootKind).toBe("kho");
    expect(b.handover).toBe("honoured");
    expect(b.log.toString()).toContain("KHO: found kexec handover data.");
    const kin = inOf(b);
    expect(kin.stampedBlocks).toBe(preserved.length);
    let pages = 0;
    for (const f of preserved) {
      for (let i = 0; i < 2 ** f.order; i++) {
        expect(b.alloc.isFree(f.pa + i * b.mem.pageSize)).toBe(false);
        pages++;
      }
    }
    expect(pages).toBe(1 + 1 + 8 + 512); // root FDT page and the three folios
    // Exhaust the allocator: nothing it hands out touches a preserved page.
    const taken: number[] = [];
    for (;;) {
      try {
        taken.push(b.alloc.alloc(9));
      } catch {
        break;
      }
    }
    for (const pa of taken)
      for (const f of preserved)
        expect(pa + 512 * b.mem.pageSize <= f.pa || f.pa + b.mem.pageSize * 2 ** f.order <= pa).toBe(true);
  });

  it("kho_init returns early: no outgoing side; the next kexec passes no handover; preserved data is intact", () => {
    const { machine, b, folios, data } = kexecIntoKhoOff();
    expect(b.out).toBeNull();
    expect(b.scratch.length).toBe(4); // the inherited array, scratch still confined early allocation
    for (const [i, f] of folios.entries()) {
      expect(inOf(b).restoreFolio(f.pa)).toEqual(f);
      expect(Buffer.from(b.mem.read(f.pa, data[i]!.length)).equals(data[i]!)).toBe(true);
    }
    expect(b.log.lines.some((l) => l.text.includes("KHO is disabled"))).toBe(false);
    const c = machine.kexec({ release: "C" });
    expect(machine.handovers.at(-1)!.record).toBeNull();
    expect(c.handover).toBe("none");
  });

  it("the report says KHO is off while the handover was honoured", () => {
    const host = new LiveUpdateHost(new Machine(machineSpec(4096)));
    host.boot(composeKernel({ release: "A", plugins: [] }));
    const r = host.kexec(composeKernel({ release: "B", cmdline: "kho=off", plugins: [] }));
    expect(r.to).toMatchObject({ bootKind: "kho", handover: "honoured", khoEnabled: false });
    expect(r.notes).toContainEqual(expect.stringContaining("kho=off"));
  });
});

describe("kho_populate confines early allocation to the inherited scratch until the reserve walk", () => {
  it("an allocation in the early hook lands in a scratch area; after the walk the limit is lifted", () => {
    const { machine } = coldBoot();
    let early = 0;
    const b = machine.kexec({ release: "B" }, { early: (k) => (early = k.alloc.alloc(0)) });
    expect(b.scratch.some((s) => s.addr <= early && early < s.addr + s.size)).toBe(true);
    expect(b.alloc.restricted).toBe(false);
  });
});

/** A machine that ran kernel A, and a kho_populate() environment over its memory for `arch` limits. */
function populateEnv(maxPages: number) {
  const { k } = coldBoot();
  const log = new KernelLog();
  const env = { mem: k.mem, alloc: new PageAllocator(k.mem), log: log.scoped("KHO: "), earlyMapMaxPages: maxPages };
  const rec: HandoverRecord = {
    fdtPa: k.out!.fdtPa,
    fdtSize: k.mem.pageSize,
    scratchPa: k.scratchArrayPa,
    scratchSize: k.scratch.length * 16,
  };
  return { k, env, log, rec };
}

/** Copies the root FDT of A to `pa` (any page offset) so a record can point there. */
function moveFdt(mem: PhysMem, from: number, to: number): void {
  mem.write(to, mem.read(from, 256));
}

describe("issue 8 item 7: early_memremap limits per architecture, with a cold-boot fallback", () => {
  it("x86: a 64-page FDT mapping is accepted, 64 pages + 1 byte is refused with the kernel's WARN and message", () => {
    const ok = populateEnv(64);
    expect(KhoIn.populate(ok.env, { ...ok.rec, fdtSize: 64 * 4096 })).not.toBeNull();
    const bad = populateEnv(64);
    expect(KhoIn.populate(bad.env, { ...bad.rec, fdtSize: 64 * 4096 + 1 })).toBeNull();
    expect(bad.log.toString()).toBe(
      [
        "WARNING: at mm/early_ioremap.c __early_ioremap",
        `KHO: setup: failed to memremap FDT (0x${bad.rec.fdtPa.toString(16)})`,
        "KHO: disabling KHO revival",
        "",
      ].join("\n"),
    );
    expect(bad.log.notes).toContainEqual(expect.stringContaining("WARN_ON(nrpages > NR_FIX_BTMAPS)"));
  });

  it("mapping reads nothing: pages after the FDT that were not handed over do not fail a 64-page mapping", () => {
    const { k, env, log, rec } = populateEnv(64);
    k.mem.poison(rec.fdtPa / 4096 + 1, 63, "not handed over");
    expect(() => k.mem.read(rec.fdtPa + 4096, 8)).toThrowError(/not handed over/);
    expect(KhoIn.populate(env, { ...rec, fdtSize: 64 * 4096 })).not.toBeNull();
    expect(log.hazards).toEqual([]);
  });

  it("the page offset counts: 64 pages from the middle of a page span 65", () => {
    const { k, env, rec } = populateEnv(64);
    const at = k.alloc.alloc(7) + 2048;
    moveFdt(k.mem, rec.fdtPa, at);
    expect(KhoIn.populate(env, { ...rec, fdtPa: at, fdtSize: 64 * 4096 - 2048 })).not.toBeNull();
    const again = populateEnv(64);
    moveFdt(again.k.mem, again.rec.fdtPa, at);
    expect(KhoIn.populate(again.env, { ...again.rec, fdtPa: at, fdtSize: 64 * 4096 - 2047 })).toBeNull();
  });

  it("arm64 with 16 KiB pages maps at most SZ_256K / PAGE_SIZE = 16 pages", () => {
    const machine = new Machine(machineSpec(16384));
    const a = machine.boot({ release: "A", arch: "arm64" });
    const env = (log: KernelLog) => ({
      mem: a.mem,
      alloc: new PageAllocator(a.mem),
      log: log.scoped("KHO: "),
      earlyMapMaxPages: 16,
    });
    const rec = { fdtPa: a.out!.fdtPa, fdtSize: 16 * 16384, scratchPa: a.scratchArrayPa, scratchSize: 4 * 16 };
    expect(KhoIn.populate(env(new KernelLog()), rec)).not.toBeNull();
    const log = new KernelLog();
    expect(KhoIn.populate(env(log), { ...rec, fdtSize: 16 * 16384 + 1 })).toBeNull();
    expect(log.lines[0]!.text).toBe("WARNING: at mm/early_ioremap.c __early_ioremap");
  });

  it("size 0 is refused (the scratch array here) with the kernel's message", () => {
    const { env, log, rec } = populateEnv(64);
    expect(KhoIn.populate(env, { ...rec, scratchSize: 0 })).toBeNull();
    expect(log.lines.map((l) => `${l.prefix}${l.text}`)).toEqual([
      "WARNING: at mm/early_ioremap.c __early_ioremap",
      `KHO: setup: failed to memremap scratch (phys=0x${rec.scratchPa.toString(16)}, len=0)`,
      "KHO: disabling KHO revival",
    ]);
  });

  it("an fdt_len smaller than the blob is accepted: the whole page is mapped", () => {
    const { env, log, rec } = populateEnv(64);
    expect(KhoIn.populate(env, { ...rec, fdtSize: 40 })).not.toBeNull();
    expect(log.toString()).toBe("KHO: found kexec handover data.\n");
  });

  it("a refused mapping falls back to a cold boot, never a panic", () => {
    const machine = new Machine(machineSpec(4096));
    const record = { fdtPa: 0x200000, fdtSize: 65 * 4096, scratchPa: 0x300000, scratchSize: 64 };
    const k = machine.bootWith({ release: "B" }, { imagePa: 16 * MiB, record, recordBytes: null });
    expect(k.state).toBe("running");
    expect(k.bootKind).toBe("cold");
    expect(k.handover).toBe("rejected");
    expect(k.scratch.length).toBe(4);
    expect(k.log.toString()).toContain("KHO: setup: failed to memremap FDT (0x200000)\nKHO: disabling KHO revival\n");
  });

  it("x86 does not check setup_data len: a record claiming len 0 is still read", () => {
    const rec = { fdtPa: 0x1000, fdtSize: 4096, scratchPa: 0x2000, scratchSize: 64 };
    const bytes = encodeX86Record(rec);
    new DataView(bytes.buffer).setUint32(12, 0, true); // setup_data.len
    expect(decodeX86Record(bytes)).toEqual(rec);
  });
});

describe("issue 8 item 8: repeated kho= and kho_scratch= run in order; a failing one keeps the earlier state", () => {
  const boot = (cmdline: string) => new Machine(machineSpec(4096)).boot({ release: "A", cmdline });

  it("the last valid kho= wins; a malformed one is reported and ignored", () => {
    expect(boot("kho=on kho=off").khoEnabled).toBe(false);
    expect(boot("kho=off kho=on").khoEnabled).toBe(true);
    const k = boot("kho=on kho=bogus");
    expect(k.khoEnabled).toBe(true);
    expect(k.log.toString()).toContain("Malformed early option 'kho'\n");
  });

  it("handlers run in command-line order across parameters", () => {
    const malformed = (k: Kernel) => k.log.lines.filter((l) => l.text.startsWith("Malformed")).map((l) => l.text);
    expect(malformed(boot("kho_scratch=1x kho=bogus kho=on"))).toEqual([
      "Malformed early option 'kho_scratch'",
      "Malformed early option 'kho'",
    ]);
    expect(malformed(boot("kho=bogus kho_scratch=1x kho=on"))).toEqual([
      "Malformed early option 'kho'",
      "Malformed early option 'kho_scratch'",
    ]);
  });

  it("Cmdline.bool: the last occurrence that kstrtobool accepts wins, a bad one keeps the earlier value", () => {
    expect(new Cmdline("liveupdate=0 liveupdate=1").bool("liveupdate", false)).toBe(true);
    expect(new Cmdline("liveupdate=1 liveupdate=maybe").bool("liveupdate", false)).toBe(true);
    expect(new Cmdline("liveupdate").bool("liveupdate", true)).toBe(true);
    expect(new Cmdline("a=1 a=2").get("a")).toBe("2");
  });

  it("kho_scratch=N% after explicit sizes changes only the scale; a malformed one keeps the sizes", () => {
    const scaled = boot("kho=on kho_scratch=1M,3M,5M kho_scratch=50%");
    expect(scaled.log.lines.filter((l) => l.prefix === "KHO: ").map((l) => l.text)).toEqual([
      "scratch areas: lowmem: 1MiB global: 3MiB pernode: 5MiB",
      "scratch scale is 50%",
    ]);
    // Scale mode again: lowmem = 50% of 32 MiB image + 64 MiB - 1 memmap, rounded to 2 MiB.
    expect(scaled.scratch[0]!.size).toBe(48 * MiB);
    const kept = boot("kho=on kho_scratch=1M,3M,5M kho_scratch=1M,0");
    expect(kept.scratch.map((a) => a.size / MiB)).toEqual([2, 4, 6, 6]);
    expect(kept.log.toString()).toContain("Malformed early option 'kho_scratch'\n");
  });
});

describe("issue 8 item 9: the DT record's #address-cells / #size-cells default to 1 when absent", () => {
  function dt(withCells: boolean, cellsEach: number): Uint8Array {
    const sw = FdtSw.create(4096);
    sw.finishReservemap();
    sw.beginNode("");
    if (withCells) {
      sw.propertyU32("#address-cells", cellsEach);
      sw.propertyU32("#size-cells", cellsEach);
    }
    sw.beginNode("chosen");
    const pair = (a: number, s: number) => {
      const out = new Uint8Array(8 * cellsEach);
      new DataView(out.buffer).setUint32(4 * cellsEach - 4, a, false);
      new DataView(out.buffer).setUint32(8 * cellsEach - 4, s, false);
      return out;
    };
    sw.property("linux,kho-fdt", pair(0x1000, 4096));
    sw.property("linux,kho-scratch", pair(0x2000, 64));
    sw.endNode();
    sw.endNode();
    return sw.finish();
  }

  it("a root without the properties reads <addr size> as one cell each", () => {
    expect(decodeDtRecord(dt(false, 1))).toEqual({ fdtPa: 0x1000, fdtSize: 4096, scratchPa: 0x2000, scratchSize: 64 });
  });

  it("two-cell pairs under the defaults have the wrong length: no handover", () => {
    expect(decodeDtRecord(dt(false, 2))).toBeNull();
    expect(decodeDtRecord(dt(true, 2))).toEqual({ fdtPa: 0x1000, fdtSize: 4096, scratchPa: 0x2000, scratchSize: 64 });
  });
});
