import { describe, expect, it } from "vitest";
import { kho_vmalloc_chunk } from "../src/abi/index.js";
import { KhoBlockSet } from "../src/block/index.js";
import { KhoError } from "../src/errors.js";
import { FdtRw, getName, properties, subnodes } from "../src/fdt/index.js";
import { type Kernel, Machine, type MachineSpec } from "../src/kexec/index.js";
import { type Folio, type Ref, retrieveFrom, splitRange, VM_ALLOC } from "../src/kho/index.js";
import { hex } from "../src/units.js";
import {
  ascii,
  be32,
  claimBlock,
  coldBoot,
  expectKhoError,
  fdtHeader,
  GiB,
  inOf,
  isPacked,
  KiB,
  keyStr,
  keysOf,
  le64,
  MiB,
  machineSpec,
  outOf,
  rootFdtBytes,
  stamp,
} from "./helpers/kho-machine.js";

/** A machine whose node boundary sits two pages past 4 GiB, so aligned blocks there would span two nodes. */
const numaSpec: MachineSpec = {
  pageSize: 4096,
  ram: [
    { start: 0, size: 4 * GiB + 8 * KiB, nid: 0 },
    { start: 4 * GiB + 8 * KiB, size: 4 * GiB - 8 * KiB, nid: 1 },
  ],
};

const fdtKey = (k: Kernel): Folio => ({ pa: outOf(k).fdtPa, order: 0 });

describe("KHO core: preservation (checklist 8-11)", () => {
  it("checklist 8: preserve_pages(pfn=3, n=10) adds (3,0) (4,2) (8,2) (12,0); unpreserve removes those", () => {
    const { k, out } = coldBoot();
    const before = keysOf(out);
    out.preservePages(3 * 4096, 10);
    const added = keysOf(out, [fdtKey(k)]);
    // preserved() walks in key order: larger orders first, then ascending address.
    expect(added).toEqual([keyStr(4, 2, 4096), keyStr(8, 2, 4096), keyStr(3, 0, 4096), keyStr(12, 0, 4096)]);
    // An unrelated key next to the range must survive the unpreserve.
    out.preserveFolio({ pa: 13 * 4096, order: 0 });
    out.unpreservePages(3 * 4096, 10);
    expect(keysOf(out, [fdtKey(k)])).toEqual([keyStr(13, 0, 4096)]);
    out.unpreserveFolio({ pa: 13 * 4096, order: 0 });
    expect(keysOf(out)).toEqual(before);
  });

  it("checklist 8 (failure path): a preserve_pages failing midway deletes every key it added, only those", () => {
    const { k, out } = coldBoot();
    out.preserveFolio({ pa: 3 * 4096, order: 0 }); // already there before the call
    out.preserveFolio({ pa: 13 * 4096, order: 0 }); // outside the range
    const nodesBefore = out.tree.nodePagePAs();
    // The first node page the call needs (the order-2 path) cannot be had.
    const alloc = k.alloc.alloc.bind(k.alloc);
    k.alloc.alloc = () => {
      throw new KhoError("ENOMEM", "injected: no page for a radix node");
    };
    try {
      expectKhoError(() => out.preservePages(3 * 4096, 10), "ENOMEM");
    } finally {
      k.alloc.alloc = alloc;
    }
    // (3,0) was added (again) by the call before (4,2) failed, so the
    // unwind deletes it too: a key is a set member, not a counter.
    expect(keysOf(out, [fdtKey(k)])).toEqual([keyStr(13, 0, 4096)]);
    expect(out.tree.nodePagePAs()).toEqual(nodesBefore);
  });

  it("checklist 9: a range crossing a NUMA boundary is split so that no key spans two nodes", () => {
    const { k, out } = coldBoot(numaSpec);
    const pfn = (4 * GiB) / 4096;
    // Without the node rule this range would be one order-3 key across the boundary.
    expect([...splitRange(pfn, 8)]).toEqual([[pfn, 3]]);
    out.preservePages(4 * GiB, 8);
    const keys = out.preserved().filter((f) => f.pa !== outOf(k).fdtPa);
    expect(keys.map((f) => [f.pa / 4096, f.order])).toEqual([
      [pfn + 4, 2],
      [pfn, 1],
      [pfn + 2, 1],
    ]);
    for (const f of keys) expect(k.mem.nidOf(f.pa / 4096)).toBe(k.mem.nidOf(f.pa / 4096 + 2 ** f.order - 1));
    const covered = keys.reduce((n, f) => n + 2 ** f.order, 0);
    expect(covered).toBe(8);
    // unpreserve uses the same split (8fd2f26fa2a3): nothing is left behind.
    out.unpreservePages(4 * GiB, 8);
    expect(keysOf(out, [fdtKey(k)])).toEqual([]);
  });

  it("checklist 10: alloc_preserve(0) EINVAL, beyond MAX_PAGE_ORDER E2BIG, 73 bytes one zeroed order-0 page", () => {
    for (const ps of [4096, 16384, 65536]) {
      const { k, out } = coldBoot(machineSpec(ps));
      expectKhoError(() => out.allocPreserve(0), "EINVAL");
      expectKhoError(() => out.allocPreserve(ps * 2 ** k.mem.maxPageOrder + 1), "E2BIG");
      // The largest size still allowed works and is one key of MAX_PAGE_ORDER.
      const big = out.allocPreserve(ps * 2 ** k.mem.maxPageOrder);
      expect(keysOf(out)).toContain(`${big}/${k.mem.maxPageOrder}`);
      out.unpreserveFree(big);
      // Dirty the page the allocator will hand out next, so zeroing is visible.
      const probe = k.alloc.alloc(0);
      k.mem.write(probe, new Uint8Array(ps).fill(0xa5));
      k.alloc.freeBlock(probe, 0);
      const before = keysOf(out);
      const pa = out.allocPreserve(73);
      expect(pa).toBe(probe);
      expect(k.alloc.orderOf(pa)).toBe(0);
      expect(k.mem.read(pa, ps).every((b) => b === 0)).toBe(true);
      expect(keysOf(out).filter((s) => !before.includes(s))).toEqual([`${pa}/0`]);
    }
  });

  it("checklist 11: a vmalloc area of exactly 511 groups (4 KiB) takes two chunk pages, the second empty", () => {
    const { k, out } = coldBoot();
    const pages = Array.from({ length: 511 }, () => k.alloc.alloc(0));
    const before = keysOf(out);
    const v = out.preserveVmalloc({ nrPages: 511, order: 0, vmFlags: VM_ALLOC, pages });
    expect(v.total_pages).toBe(511);
    expect(v.order).toBe(0);
    expect(v.flags).toBe(1);
    const first = Number(v.first);
    expect(first).not.toBe(0);
    const chunk = kho_vmalloc_chunk.at(4096);
    expect((chunk.size - 8) / 8).toBe(511);
    const second = k.mem.readU64Number(first);
    expect(second).not.toBe(0);
    for (let i = 0; i < 511; i++) expect(k.mem.readU64Number(first + 8 + 8 * i)).toBe(pages[i]);
    // The trailing chunk: next = 0 and no entry at all.
    expect(k.mem.read(second, 4096).every((b) => b === 0)).toBe(true);
    const added = keysOf(out).filter((s) => !before.includes(s));
    expect(new Set(added)).toEqual(new Set([...pages, first, second].map((pa) => `${pa}/0`)));
    out.unpreserveVmalloc(v);
    expect(keysOf(out)).toEqual(before);
    expect(k.alloc.orderOf(first)).toBeUndefined();
    expect(k.alloc.orderOf(second)).toBeUndefined();
  });
});

/** The 233-byte root FDT of spec 2.2, written out from its table. */
function workedExample(R: number, M: number): Uint8Array {
  const PROP = 3;
  const bytes = [
    ...be32(0xd00dfeed),
    ...be32(233),
    ...be32(56),
    ...be32(176),
    ...be32(40),
    ...be32(17),
    ...be32(16),
    ...be32(0),
    ...be32(57),
    ...be32(120),
    ...new Array<number>(16).fill(0),
    ...be32(1),
    0,
    0,
    0,
    0,
    ...be32(PROP),
    ...be32(7),
    ...be32(21),
    ...ascii("kho-v4"),
    0,
    0,
    ...be32(PROP),
    ...be32(8),
    ...be32(0),
    ...le64(R),
    ...be32(1),
    ...ascii("kexec-metadata"),
    0,
    0,
    ...be32(PROP),
    ...be32(8),
    ...be32(47),
    ...le64(73),
    ...be32(PROP),
    ...be32(8),
    ...be32(32),
    ...le64(M),
    ...be32(2),
    ...be32(2),
    ...be32(9),
    ...ascii("preserved-memory-map"),
    0,
    ...ascii("compatible"),
    0,
    ...ascii("preserved-data"),
    0,
    ...ascii("blob-size"),
    0,
  ];
  return Uint8Array.from(bytes);
}

/** Adds subtree `name` with a fresh preserved blob of `size` bytes; returns the blob's PA. */
function addBlob(k: Kernel, name: string, size = 64): number {
  const out = outOf(k);
  const pa = out.allocPreserve(size);
  out.addSubtree(name, pa, size);
  return pa;
}

describe("KHO core: the root FDT (checklist 12-17)", () => {
  it("checklist 12: after cold-boot kho_init with 73-byte kexec-metadata the root FDT is the worked example", () => {
    let M = 0;
    const machine = new Machine(machineSpec(4096));
    const k = machine.boot(
      { release: "A" },
      {
        khoInit(kernel) {
          // What kho_init does for kexec-metadata: preserve a 73-byte blob and register it.
          M = outOf(kernel).allocPreserve(73);
          outOf(kernel).addSubtree("kexec-metadata", M, 73);
        },
      },
    );
    const out = outOf(k);
    const R = out.tree.root;
    expect(R).toBeGreaterThan(0);
    expect(M).toBeGreaterThan(0);
    const expected = workedExample(R, M);
    expect(expected.length).toBe(233);
    expect(hex(rootFdtBytes(out).length)).toBe(hex(233));
    expect(Buffer.from(rootFdtBytes(out)).toString("hex")).toBe(Buffer.from(expected).toString("hex"));
  });

  it("checklist 13: subnodes appear newest-first and blob-size precedes preserved-data", () => {
    const { k, out } = coldBoot();
    const a = addBlob(k, "first", 10);
    const b = addBlob(k, "second", 20);
    const c = addBlob(k, "third", 30);
    const fdt = out.fdt;
    const names = [...subnodes(fdt, 0)].map((n) => getName(fdt, n));
    expect(names).toEqual(["third", "second", "first"]);
    const want: Record<string, [number, number]> = { first: [10, a], second: [20, b], third: [30, c] };
    for (const node of subnodes(fdt, 0)) {
      const props = [...properties(fdt, node)];
      expect(props.map((p) => p.name)).toEqual(["blob-size", "preserved-data"]);
      const [size, pa] = want[getName(fdt, node)]!;
      expect([...props[0]!.value]).toEqual(le64(size));
      expect([...props[1]!.value]).toEqual(le64(pa));
    }
    expect(isPacked(fdt)).toBe(true);
  });

  it("checklist 14: a second subtree with an existing name is EEXIST and leaves the FDT packed and unchanged", () => {
    const { k, out } = coldBoot();
    addBlob(k, "dup");
    addBlob(k, "node@1");
    const before = rootFdtBytes(out);
    expectKhoError(() => out.addSubtree("dup", out.allocPreserve(8), 8), "EEXIST");
    expect(isPacked(out.fdt)).toBe(true);
    expect(rootFdtBytes(out)).toEqual(before);
    // libfdt matching: "node" without a unit address also finds "node@1".
    expectKhoError(() => out.addSubtree("node", out.allocPreserve(8), 8), "EEXIST");
    expect(rootFdtBytes(out)).toEqual(before);
  });

  it("checklist 15: adding subtrees until the page is full gives ENOMEM and leaves no partial node", () => {
    const { out } = coldBoot();
    const blob = out.allocPreserve(8);
    const room = (): number => 4096 - fdtHeader(out.fdt).totalsize!;
    // A child node is BEGIN_NODE + name padded to 4 + END_NODE, then two 20-byte properties.
    const nodeLen = (n: string): number => 8 + (((n.length + 1 + 3) >> 2) << 2);
    let i = 0;
    while (room() >= 200) out.addSubtree(`s${String(i++).padStart(4, "0")}`, blob, 8);
    expect(i).toBeGreaterThan(60);
    // One filler whose name length leaves 12..15 bytes: room for a bare node
    // "x" (12 bytes) but not for its properties, so the failing setprop path
    // (node added, then deleted again) is the one exercised.
    const fillerNode = room() - 12 - ((room() - 12 - 12) % 4);
    out.addSubtree("f".repeat(fillerNode - 8 - 40 - 1), blob, 8);
    expect(room()).toBeGreaterThanOrEqual(12);
    expect(room()).toBeLessThan(16);
    const full = rootFdtBytes(out);
    // Too big even as a bare node: fails in add_subnode.
    expectKhoError(() => out.addSubtree("s9999", blob, 8), "ENOMEM");
    expect(rootFdtBytes(out)).toEqual(full);
    expect(room()).toBeGreaterThanOrEqual(nodeLen("x"));
    expect(room()).toBeLessThan(nodeLen("x") + 40);
    expectKhoError(() => out.addSubtree("x", blob, 8), "ENOMEM");
    expect(rootFdtBytes(out)).toEqual(full);
    const names = [...subnodes(out.fdt, 0)].map((n) => getName(out.fdt, n));
    expect(names).not.toContain("x");
    expect(names).not.toContain("s9999");
    expect(names.length).toBe(i + 1);
    expect(out.subFdts.has("x")).toBe(false);
    expect(isPacked(out.fdt)).toBe(true);
  });

  it("checklist 16: removing a subtree leaves the preserved-data and blob-size strings in the table", () => {
    const { k, out } = coldBoot();
    const pa = addBlob(k, "gone");
    const strings = (): string => {
      const h = fdtHeader(out.fdt);
      return Buffer.from(out.fdt.subarray(h.off_dt_strings!, h.off_dt_strings! + h.size_dt_strings!)).toString(
        "latin1",
      );
    };
    const withNode = strings();
    expect(withNode).toBe("preserved-memory-map\0compatible\0preserved-data\0blob-size\0");
    out.removeSubtree(pa);
    expect([...subnodes(out.fdt, 0)]).toEqual([]);
    expect(strings()).toBe(withNode);
    expect(out.subFdts.has("gone")).toBe(false);
    expect(isPacked(out.fdt)).toBe(true);
    // Removing again (no match) changes nothing but still packs.
    const again = rootFdtBytes(out);
    out.removeSubtree(pa);
    expect(rootFdtBytes(out)).toEqual(again);
    // Two children with the same blob: only the first in document order (the newest) goes.
    const shared = out.allocPreserve(8);
    out.addSubtree("older", shared, 8);
    out.addSubtree("newer", shared, 8);
    out.removeSubtree(shared);
    expect([...subnodes(out.fdt, 0)].map((n) => getName(out.fdt, n))).toEqual(["older"]);
  });

  it("checklist 17: retrieve_subtree: no blob-size EINVAL (phys set); no node or FDT ENOENT; NULL phys EINVAL", () => {
    const { machine, k } = coldBoot();
    const good = addBlob(k, "good", 100);
    const brokenPa = outOf(k).allocPreserve(16);
    // A child with preserved-data only, as an older or buggy writer might leave it.
    const rw = FdtRw.openInto(outOf(k).fdt, 4096);
    const node = rw.addSubnode(0, "broken");
    rw.setprop(node, "preserved-data", Uint8Array.from(le64(brokenPa)));
    // And one whose preserved-data is 4 bytes long.
    const short = rw.addSubnode(0, "short");
    rw.setprop(short, "preserved-data", Uint8Array.from(le64(brokenPa).slice(0, 4)));
    rw.setprop(short, "blob-size", Uint8Array.from(le64(16)));
    rw.pack();
    const b = machine.kexec({ release: "B" });
    const kin = inOf(b);

    const phys: Ref<number> = {};
    const size: Ref<number> = {};
    expect(kin.retrieveSubtree("good", phys, size)).toBe(0);
    expect([phys.value, size.value]).toEqual([good, 100]);

    const p2: Ref<number> = {};
    const s2: Ref<number> = {};
    expect(kin.retrieveSubtree("broken", p2, s2)).toBe(-22);
    expect(p2.value).toBe(brokenPa);
    expect(s2.value).toBeUndefined();
    expect(b.log.toString()).toContain("broken KHO subnode 'broken': missing or invalid blob-size property");
    // Also with size NULL: the blob-size check still fails after writing phys.
    const p3: Ref<number> = {};
    expect(kin.retrieveSubtree("broken", p3, null)).toBe(-22);
    expect(p3.value).toBe(brokenPa);

    // A bad preserved-data fails before anything is written.
    const p4: Ref<number> = {};
    const s4: Ref<number> = {};
    expect(kin.retrieveSubtree("short", p4, s4)).toBe(-22);
    expect([p4.value, s4.value]).toEqual([undefined, undefined]);

    expect(kin.retrieveSubtree("missing", {}, {})).toBe(-2);
    expect(kin.retrieveSubtree("good", null, {})).toBe(-22);
    // No incoming FDT is checked first, before the NULL phys.
    expect(retrieveFrom(null, "good", null, null)).toBe(-2);
    expect(retrieveFrom(null, "good", {}, {})).toBe(-2);
    expectKhoError(() => kin.getSubtree("missing"), "ENOENT");
    expectKhoError(() => kin.getSubtree("broken"), "EINVAL");
  });
});

/** Cold boot, preserve one seeded folio, let `edit` tamper with the root FDT, kexec. */
function kexecWithEditedRoot(edit: (rw: FdtRw, k: Kernel) => void): {
  a: Kernel;
  b: Kernel;
  machine: Machine;
  folio: Folio;
} {
  const { machine, k } = coldBoot();
  const folio = { pa: k.alloc.alloc(2), order: 2 };
  outOf(k).preserveFolio(folio);
  addBlob(k, "kexec-metadata", 73);
  const rw = FdtRw.openInto(outOf(k).fdt, 4096);
  edit(rw, k);
  rw.pack();
  const b = machine.kexec({ release: "B" });
  return { a: k, b, machine, folio };
}

function expectColdFallback(r: { a: Kernel; b: Kernel; machine: Machine; folio: Folio }, why: string): void {
  const { b, machine, folio } = r;
  expect(b.in).toBeNull();
  expect(b.bootKind).toBe("cold");
  const log = b.log.toString();
  expect(log).toContain(why);
  expect(log).toContain("disabling KHO revival");
  expect(log).not.toContain("found kexec handover data");
  // The preserved folio is ordinary free memory now: not reserved, not stamped.
  for (let i = 0; i < 4; i++) expect(b.alloc.isFree(folio.pa + i * 4096)).toBe(true);
  // New scratch was reserved from memblock, not the array handed over.
  const handed = machine.handovers.at(-1)!.record!;
  expect(b.scratch.length).toBeGreaterThan(0);
  expect(b.scratchArrayPa).not.toBe(handed.scratchPa);
  for (const s of b.scratch) expect(b.alloc.isFree(s.addr)).toBe(false);
  // KHO itself still runs on the new kernel (a fresh outgoing side).
  expect(outOf(b).preserved()).toEqual([{ pa: outOf(b).fdtPa, order: 0 }]);
}

describe("KHO core: rejected handovers (checklist 18-19)", () => {
  it("checklist 18: a kho-v3 incoming root is rejected: nothing reserved, stamped or retrievable; new scratch", () => {
    const r = kexecWithEditedRoot((rw) => rw.setpropString(0, "compatible", "kho-v3"));
    expectColdFallback(r, "is incompatible with 'kho-v4'");
  });

  it("rejected handover (spec 5.3 step 1): a root FDT whose header fails fdt_check_header boots cold", () => {
    const { machine, k } = coldBoot();
    const folio = { pa: k.alloc.alloc(2), order: 2 };
    outOf(k).preserveFolio(folio);
    // Clobber the magic word: the header check is the first thing kho_populate does.
    k.mem.writeU32(outOf(k).fdtPa, 0);
    const b = machine.kexec({ release: "B" });
    expectColdFallback({ a: k, b, machine, folio }, `handover FDT (${hex(outOf(k).fdtPa)}) is invalid`);
  });

  it("checklist 19: preserved-memory-map missing, 4 bytes long, or zero is rejected", () => {
    const variants: [string, (rw: FdtRw, k: Kernel) => void][] = [
      ["missing", (rw) => rw.delprop(0, "preserved-memory-map")],
      [
        "4 bytes",
        (rw, k) => rw.setprop(0, "preserved-memory-map", Uint8Array.from(le64(outOf(k).tree.root).slice(0, 4))),
      ],
      ["zero", (rw) => rw.setprop(0, "preserved-memory-map", new Uint8Array(8))],
    ];
    for (const [what, edit] of variants) {
      const r = kexecWithEditedRoot(edit);
      expect(r.b.in, what).toBeNull();
      expectColdFallback(r, "failed to get preserved memory map");
    }
  });
});

describe("KHO core: the incoming boot (checklist 20-25)", () => {
  it("checklist 20: every preserved block's head page is stamped 0x4b484f50_0000000N and no other page is", () => {
    const { machine, k, out } = coldBoot();
    const f0 = { pa: k.alloc.alloc(0), order: 0 };
    const f3 = { pa: k.alloc.alloc(3), order: 3 };
    const range = k.alloc.alloc(4);
    out.preserveFolio(f0);
    out.preserveFolio(f3);
    out.preservePages(range + 4096, 13); // keys (1,0) (2,1) (4,2) (8,2) (12,1) relative to the range
    const small = out.allocPreserve(100);
    const keys = out.preserved();
    // root FDT + f0 + f3 + five range keys + the alloc_preserve page
    expect(keys.length).toBe(9);
    const b = machine.kexec({ release: "B" });
    const kin = inOf(b);
    expect(kin.stampedBlocks).toBe(keys.length);
    for (const f of keys) {
      expect(kin.pagePrivate(f.pa / 4096)).toBe(stamp(f.order));
      for (let t = 1; t < 2 ** f.order; t++) expect(kin.pagePrivate(f.pa / 4096 + t)).toBe(0n);
    }
    expect(kin.pagePrivate(range / 4096)).toBe(0n);
    expect(kin.pagePrivate(small / 4096)).toBe(stamp(0));
    expect(stamp(3)).toBe(0x4b484f5000000003n);
  });

  it("checklist 21: restore_folio of an order-3 head gives an order-3 folio, clears the stamp; again is NULL", () => {
    const { machine, k, out } = coldBoot();
    const f = { pa: k.alloc.alloc(3), order: 3 };
    out.preserveFolio(f);
    const b = machine.kexec({ release: "B" });
    const kin = inOf(b);
    expect(kin.pagePrivate(f.pa / 4096)).toBe(stamp(3));
    expect(kin.restoreFolio(f.pa)).toEqual(f);
    expect(kin.pagePrivate(f.pa / 4096)).toBe(0n);
    expect(b.alloc.orderOf(f.pa)).toBe(3);
    expect(kin.restoreFolio(f.pa)).toBeNull();
  });

  it("checklist 22: restore_folio on a tail page, an unpreserved page or an offline pfn is NULL", () => {
    const { machine, k, out } = coldBoot();
    const f = { pa: k.alloc.alloc(3), order: 3 };
    const unpreserved = k.alloc.alloc(0);
    out.preserveFolio(f);
    const b = machine.kexec({ release: "B" });
    const kin = inOf(b);
    for (let t = 1; t < 8; t++) expect(kin.restoreFolio(f.pa + t * 4096)).toBeNull();
    expect(kin.restoreFolio(unpreserved)).toBeNull();
    expect(kin.restoreFolio(8 * GiB + 64 * MiB)).toBeNull();
    // WARN_ON_ONCE: one splat for the first failure, the rest are silent (simulator notes only).
    expect(b.log.lines.filter((l) => l.text.startsWith("WARNING: at ")).map((l) => l.text)).toEqual([
      "WARNING: at kernel/liveupdate/kexec_handover.c kho_restore_page",
    ]);
    expect(b.log.notes.filter((n) => n.includes("not a preserved block head")).length).toBe(8);
    // None of the failures touched the head: it still restores whole.
    expect(kin.restoreFolio(f.pa)).toEqual(f);
  });

  it("checklist 23: no order cap on restore: an order-12 block with 4 KiB pages restores", () => {
    const { machine, k, out } = coldBoot();
    expect(k.mem.maxPageOrder).toBe(10);
    const f = { pa: k.alloc.alloc(12), order: 12 };
    out.preserveFolio(f);
    const b = machine.kexec({ release: "B" });
    const kin = inOf(b);
    expect(kin.pagePrivate(f.pa / 4096)).toBe(stamp(12));
    expect(kin.restoreFolio(f.pa)).toEqual(f);
    expect(b.alloc.orderOf(f.pa)).toBe(12);
  });

  it("checklist 24: restore_pages steps with the plain split, NULL at the first missing stamp, earlier kept", () => {
    const { machine, k, out } = coldBoot(numaSpec);
    const pfn = (4 * GiB) / 4096;
    // These pages hold node 0's memmap in kernel A; preserving them is harmless
    // here because kernel B takes its own memmap from scratch.
    out.preservePages(4 * GiB, 8); // NUMA split: (pfn,1) (pfn+2,1) (pfn+4,2)
    const low = k.alloc.alloc(2);
    out.preservePages(low, 2); // (low,1), and nothing at low+2
    const b = machine.kexec({ release: "B" });
    const kin = inOf(b);
    // The restore walks [pfn, pfn+8) as one order-3 step: only the head block is restored.
    expect(kin.restorePages(4 * GiB, 8)).toBe(4 * GiB);
    expect(kin.pagePrivate(pfn)).toBe(0n);
    expect(kin.pagePrivate(pfn + 2)).toBe(stamp(1));
    expect(kin.pagePrivate(pfn + 4)).toBe(stamp(2));
    // [low, low+3): step (low, 1) restores, step (low+2, 0) has no stamp -> NULL, no undo.
    expect(kin.restorePages(low, 3)).toBeNull();
    expect(kin.pagePrivate(low / 4096)).toBe(0n);
    expect(b.alloc.orderOf(low)).toBe(1);
  });

  it("checklist 25: the walk reserves root FDT, alloc_preserve and block pages; not radix nodes, array, image", () => {
    const { machine, k, out } = coldBoot();
    const meta = addBlob(k, "kexec-metadata", 73);
    const set = new KhoBlockSet(
      {
        mem: k.mem,
        allocPreserve: (size) => out.allocPreserve(size),
        unpreserveFree: (pa) => out.unpreserveFree(pa),
        restoreFree: () => {
          throw new Error("not incoming");
        },
      },
      32,
    );
    set.grow(200);
    expect(set.nblocks).toBe(2);
    // Spread keys so the tree has more than the root and one path.
    out.preserveFolio({ pa: k.alloc.alloc(0), order: 0 });
    const high = (6 * GiB) / 4096;
    expect(claimBlock(k, high, 0)).toBe(true);
    out.preserveFolio({ pa: high * 4096, order: 0 });
    const nodes = out.tree.nodePagePAs();
    expect(nodes.length).toBeGreaterThan(6);
    const b = machine.kexec({ release: "B" });
    const kin = inOf(b);
    const h = machine.handovers.at(-1)!;
    const reserved = [out.fdtPa, meta, ...set.blocks];
    for (const pa of reserved) {
      expect(kin.pagePrivate(pa / 4096), hex(pa)).toBe(stamp(0));
      expect(b.alloc.isFree(pa)).toBe(false);
    }
    for (const pa of nodes) {
      expect(kin.pagePrivate(pa / 4096), hex(pa)).toBe(0n);
      // After the walk the incoming tree is ordinary free memory: free, or
      // already handed out again by kernel B's own kho_init.
      expect(b.alloc.isFree(pa) || b.alloc.orderOf(pa) === 0, hex(pa)).toBe(true);
    }
    expect([...kin.nodePages].sort((x, y) => x - y)).toEqual([...nodes].sort((x, y) => x - y));
    const image = h.segments.find((s) => s.what === "kernel image")!;
    const array = h.segments.find((s) => s.what === "KHO scratch array")!;
    expect(array.pa).toBe(h.record!.scratchPa);
    for (const seg of [image, array])
      for (let pa = seg.pa; pa < seg.pa + seg.size; pa += 4096) expect(kin.pagePrivate(pa / 4096)).toBe(0n);
    expect(kin.stampedBlocks).toBe(out.preserved().length);
  });
});
