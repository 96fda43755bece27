import { describe, expect, it } from "vitest";
import { KhoError } from "../src/errors.js";
import type { Folio } from "../src/kho/index.js";
import { hex } from "../src/units.js";
import { claimBlock, coldBoot, csumPartial, fillFolio, inOf, machineSpec, outOf, Rng } from "./helpers/kho-machine.js";

/** Reads `fn` expecting the poison error; returns it. */
function poisonError(fn: () => unknown): KhoError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KhoError) return e;
    throw e;
  }
  throw new Error("expected EHWPOISON, the read succeeded");
}

describe("KHO core: nothing lost, nothing misread", () => {
  for (const pageSize of [4096, 16384, 65536]) {
    const name = `preserved contents bit-identical after a kexec, unpreserved pages poison (${pageSize / 1024} KiB)`;
    it(name, () => {
      const { machine, k, out } = coldBoot(machineSpec(pageSize));
      const rng = new Rng(0x1d ^ pageSize);
      const totalPages = k.mem.totalBytes / pageSize;
      const kept: { f: Folio; bytes: Uint8Array }[] = [];
      const lost: { f: Folio; bytes: Uint8Array }[] = [];
      // Blocks at seeded places across RAM; every other one preserved (folio
      // or page range), one preserved and then unpreserved, the rest left alone.
      for (let i = 0; kept.length + lost.length < 24 && i < 1000; i++) {
        const order = rng.below(5);
        const pfn = Math.floor(rng.below(totalPages) / 2 ** order) * 2 ** order;
        if (!claimBlock(k, pfn, order)) continue;
        const f = { pa: pfn * pageSize, order };
        const bytes = fillFolio(k, f, rng);
        const n = kept.length + lost.length;
        if (n % 3 === 0) {
          out.preserveFolio(f);
          kept.push({ f, bytes });
        } else if (n % 3 === 1) {
          out.preservePages(f.pa, 2 ** order);
          kept.push({ f, bytes });
        } else {
          if (n % 2 === 0) {
            out.preserveFolio(f);
            out.unpreserveFolio(f);
          }
          lost.push({ f, bytes });
        }
      }
      expect(kept.length).toBeGreaterThan(10);
      expect(lost.length).toBeGreaterThan(5);
      const sum = (list: { bytes: Uint8Array }[]): number => list.reduce((s, x) => csumPartial(x.bytes, s), 0);
      const before = sum(kept);

      const b = machine.kexec({ release: "B" });
      const kin = inOf(b);
      b.mem.actor = "integrity-check";
      // Readable before restore (the kernel may look at preserved data early) and identical.
      const readBack = kept.map(({ f }) => ({ bytes: b.mem.read(f.pa, pageSize * 2 ** f.order) }));
      expect(sum(readBack)).toBe(before);
      for (let i = 0; i < kept.length; i++) expect(Buffer.compare(readBack[i]!.bytes, kept[i]!.bytes)).toBe(0);

      for (const { f } of lost) {
        const err = poisonError(() => b.mem.read(f.pa + 8, 16));
        expect(err.code).toBe("EHWPOISON");
        expect(err.where).toBe(hex(f.pa + 8));
        expect(err.message).toContain(hex(f.pa + 8));
        expect(err.message).toContain("integrity-check");
        expect(err.message).toContain("not handed over by A");
        expect(kin.restoreFolio(f.pa)).toBeNull();
      }

      // Restoring changes nothing in the data.
      for (const { f, bytes } of kept) {
        const got = kin.restorePages(f.pa, 2 ** f.order);
        expect(got).toBe(f.pa);
        expect(Buffer.compare(b.mem.read(f.pa, bytes.length), bytes)).toBe(0);
      }
    });
  }

  it("a read running from a preserved page into an unpreserved one names the first poisoned address", () => {
    const { machine, k, out } = coldBoot();
    const base = (5 * 2 ** 30) / 4096;
    expect(claimBlock(k, base, 1)).toBe(true);
    out.preserveFolio({ pa: base * 4096, order: 0 });
    const b = machine.kexec({ release: "B" });
    b.mem.actor = "reader";
    const err = poisonError(() => b.mem.read(base * 4096 + 4000, 200));
    expect(err.code).toBe("EHWPOISON");
    expect(err.where).toBe(hex((base + 1) * 4096));
    expect(err.message).toContain("reader");
  });

  it("contents survive two kexecs when the middle kernel restores and preserves them again", () => {
    const { machine, k, out } = coldBoot();
    const f = { pa: k.alloc.alloc(4), order: 4 };
    const bytes = fillFolio(k, f, new Rng(42));
    out.preserveFolio(f);
    const gone = { pa: 6 * 2 ** 30, order: 0 };
    expect(claimBlock(k, gone.pa / 4096, 0)).toBe(true);
    fillFolio(k, gone, new Rng(43));
    const b = machine.kexec({ release: "B" });
    expect(inOf(b).restoreFolio(f.pa)).toEqual(f);
    outOf(b).preserveFolio(f);
    const c = machine.kexec({ release: "C" });
    expect(inOf(c).restoreFolio(f.pa)).toEqual(f);
    expect(Buffer.compare(c.mem.read(f.pa, bytes.length), bytes)).toBe(0);
    // Kernel A's unpreserved memory stays gone through B into C.
    expect(c.alloc.isFree(gone.pa)).toBe(true);
    c.mem.actor = "C";
    const err = poisonError(() => c.mem.read(gone.pa, 8));
    expect(err.code).toBe("EHWPOISON");
    expect(err.where).toBe(hex(gone.pa));
  });
});
