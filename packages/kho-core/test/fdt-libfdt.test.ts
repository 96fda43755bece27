/**
 * Byte identity with libfdt: every sequence runs through the system libfdt
 * (test/c/fdt_harness.c, built here) and through this package's FDT code;
 * return codes and the whole buffer (stale bytes included) must agree.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { FdtError } from "../src/fdt/errors.js";
import { be32 } from "../src/fdt/header.js";
import {
  checkHeader,
  findProp,
  getName,
  getprop,
  nodeCheckCompatible,
  pathOffset,
  subnodeOffset,
  subnodes,
} from "../src/fdt/ro.js";
import { FdtRw } from "../src/fdt/rw.js";
import { FdtSw } from "../src/fdt/sw.js";
import {
  at,
  compileHarness,
  firstDifference,
  hex,
  le64,
  runHarness,
  runTs,
  Script,
  splitSequences,
  TsHarness,
  unhex,
} from "./helpers/fdt-harness.js";
import { fdtHeader } from "./helpers/kho-machine.js";

let harness = "";

beforeAll(() => {
  // A missing oracle fails the file (in CI and locally alike): the
  // comparison is the point of these tests, so they must never pass by skipping.
  try {
    harness = compileHarness();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(process.env.CI === "true" ? `[CI] ${msg}` : msg);
  }
});

/** Runs a script through both sides, fails on the first differing line, returns the TS side. */
function same(script: Script | string[]): { lines: string[]; ts: TsHarness } {
  const lines = script instanceof Script ? script.lines : script;
  const text = `${lines.join("\n")}\n`;
  const want = runHarness(harness, text);
  const ts = new TsHarness();
  const got = ts.run(text);
  const diff = firstDifference(lines, want, got);
  expect(diff, diff).toBeUndefined();
  expect(got.length).toBe(lines.length);
  return { lines: got, ts };
}

/**
 * Records harness commands while running them on the TS side, so a test can
 * branch on results the way kernel code does; `same()` then replays the
 * recorded script through libfdt.
 */
class Recorder {
  readonly lines: string[] = [];
  readonly ts = new TsHarness();
  x(build: (s: Script) => Script): string {
    const s = build(new Script());
    let r = "";
    for (const l of s.lines) {
      this.lines.push(l);
      r = this.ts.exec(l);
    }
    return r;
  }
  n(build: (s: Script) => Script): number {
    return Number(this.x(build).split(" ")[0]);
  }
}

const ENOMEM = -12;
const EEXIST = -17;

/** kho_init's root FDT: sequential write, then the kexec-metadata subtree. */
function khoInit(k: Recorder, page: number, radixRoot: bigint, metadataPa: bigint, seed = 0x5a): number {
  k.x((s) =>
    s
      .buf(page, seed)
      .create(page)
      .finishRsvmap()
      .begin("")
      .prop("compatible", "kho-v4")
      .prop("preserved-memory-map", le64(radixRoot))
      .end()
      .finish(),
  );
  return khoAddSubtree(k, page, "kexec-metadata", metadataPa, 73);
}

/** kho_add_subtree: open_into(PAGE_SIZE), node, preserved-data then blob-size, always pack. */
function khoAddSubtree(k: Recorder, page: number, name: string, pa: bigint, size: number): number {
  if (k.n((s) => s.openInto(page)) < 0) return ENOMEM;
  let err = 0;
  const off = k.n((s) => s.addSubnode(at(0), name));
  if (off < 0) {
    err = off === -2 ? EEXIST : ENOMEM;
  } else if (
    k.n((s) => s.setprop(at(off), "preserved-data", le64(pa))) < 0 ||
    k.n((s) => s.setprop(at(off), "blob-size", le64(size))) < 0
  ) {
    k.x((s) => s.delNode(at(off)));
    err = ENOMEM;
  }
  k.x((s) => s.pack());
  return err;
}

/** kho_remove_subtree: first root child whose 8-byte preserved-data equals pa; pack regardless. */
function khoRemoveSubtree(k: Recorder, page: number, pa: bigint): void {
  if (k.n((s) => s.openInto(page)) < 0) return;
  const kids = k.x((s) => s.children(at(0)));
  const offsets = kids
    .split(";")[0]!
    .trim()
    .split(" ")
    .filter(Boolean)
    .map((c) => Number(c.split(":")[0]));
  for (const off of offsets) {
    const v = k.x((s) => s.getprop(at(off), "preserved-data"));
    if (v === `8 ${hex(le64(pa))}`) {
      k.x((s) => s.delNode(at(off)));
      break;
    }
  }
  k.x((s) => s.pack());
}

const R = 0x1_2345_6000n;
const M = 0x1_0000_7000n;

describe("sequential write vs libfdt", () => {
  it("writes an empty root exactly like fdt_create/fdt_finish", () => {
    const { ts } = same(new Script().buf(512, 3).create(512).finishRsvmap().begin("").end().finish().dump());
    expect(fdtHeader(ts.buf)).toMatchObject({
      off_mem_rsvmap: 48,
      off_dt_struct: 64,
      version: 17,
      last_comp_version: 16,
    });
  });

  it("reserve entries, nested nodes, odd value lengths and string de-duplication", () => {
    const s = new Script().buf(1024, 9).create(1000).rsv(0x1000, 0x2000).rsv(0xffff_ffff_0000n, 0x10).finishRsvmap();
    s.begin("")
      .prop("compatible", "vendor,board\0generic")
      .prop("#address-cells", new Uint8Array([0, 0, 0, 2]));
    s.begin("cpus")
      .prop("reg", new Uint8Array([1]))
      .prop("empty", new Uint8Array(0));
    s.begin("cpu@0")
      .prop("compatible", "arm,cortex")
      .prop("reg", new Uint8Array([1, 2, 3, 4, 5]))
      .end()
      .end();
    s.begin("memory@80000000").prop("patible", "suffix").prop("device_type", "memory").end();
    s.end().finish().dump().checkHeader().rsvmap().children("/").props("/cpus/cpu@0");
    const { ts } = same(s);
    // Strings: reverse order of first use, "patible" shares the tail of "compatible".
    const blob = ts.buf;
    const h = fdtHeader(blob);
    const strings = new TextDecoder().decode(blob.subarray(h.off_dt_strings, h.off_dt_strings + h.size_dt_strings));
    expect(strings).toBe("device_type\0empty\0reg\0#address-cells\0compatible\0");
  });

  it("NO_NAME_DEDUP stores every name again", () => {
    const { ts } = same(
      new Script()
        .buf(512, 1)
        .create(512, 1)
        .finishRsvmap()
        .begin("")
        .prop("a", "x")
        .prop("a", "y")
        .end()
        .finish()
        .dump(),
    );
    expect(fdtHeader(ts.buf).size_dt_strings).toBe(4);
  });

  it("phase errors: BADSTATE, BADMAGIC, NOSPACE, BADFLAGS", () => {
    const s = new Script().buf(256, 2);
    s.begin("x").prop("a", "b").end().finish().finishRsvmap(); // BADMAGIC on the fill pattern
    s.create(40).create(256, 2).create(47).create(48).rsv(1, 2).create(256);
    s.begin("early").prop("early", "x").end().finish(); // BADSTATE before finish_rsvmap
    s.rsv(0x10, 0x20).finishRsvmap().rsv(0x30, 0x40).finishRsvmap(); // second phase: BADSTATE
    s.begin("").end().finish().begin("late").end().finish().rsv(1, 1).dump(); // finished: BADSTATE
    const { lines } = same(s);
    expect(lines).toContain("-7");
    expect(lines).toContain("-9");
    expect(lines).toContain("-18");
  });

  it("fills a small buffer until NOSPACE, rolling back a name that did not fit with its property", () => {
    const s = new Script().buf(200, 77).create(200).finishRsvmap().begin("");
    for (let i = 0; i < 12; i++) s.prop(`p${i}`, new Uint8Array(i + 3).fill(i));
    s.prop("z", new Uint8Array(0)).begin("n").end().end().finish().dump();
    const { lines } = same(s);
    expect(lines.filter((l) => l === "-3").length).toBeGreaterThan(2);
  });

  it("FdtSw conveniences write the same bytes as raw properties", () => {
    const a = FdtSw.create(256);
    a.finishReservemap();
    a.beginNode("");
    a.propertyString("compatible", "kho-v4");
    a.propertyU32("cells", 0x01020304);
    a.propertyU64("be", 0x0102030405060708n);
    a.propertyU64Le("le", 0x0102030405060708n);
    a.propertyEmpty("flag");
    a.endNode();
    const blobA = a.finish();
    const { ts } = same(
      new Script()
        .buf(256, 0)
        .create(256)
        .finishRsvmap()
        .begin("")
        .prop("compatible", "kho-v4")
        .prop("cells", unhex("01020304"))
        .prop("be", unhex("0102030405060708"))
        .prop("le", unhex("0807060504030201"))
        .prop("flag", new Uint8Array(0))
        .end()
        .finish(),
    );
    expect(hex(blobA)).toBe(hex(ts.buf.subarray(0, blobA.length)));
    expect(() => FdtSw.create(16)).toThrow(FdtError);
    expect(() => a.beginNode("x")).toThrowError(/FDT_ERR_BADSTATE/);
  });
});

describe("the KHO root FDT vs libfdt", () => {
  it("kho_init on a cold boot, 4 KiB: the spec's worked example", () => {
    const k = new Recorder();
    expect(khoInit(k, 4096, R, M)).toBe(0);
    k.x((s) => s.dump().checkHeader());
    const { ts } = same(k.lines);
    const b = ts.buf;
    expect(fdtHeader(b)).toEqual({
      magic: 0xd00dfeed,
      totalsize: 233,
      off_dt_struct: 56,
      off_dt_strings: 176,
      off_mem_rsvmap: 40,
      version: 17,
      last_comp_version: 16,
      boot_cpuid_phys: 0,
      size_dt_strings: 57,
      size_dt_struct: 120,
    });
    const word = (o: number): number => be32(b, o);
    expect(hex(b.subarray(40, 56))).toBe("00".repeat(16));
    expect([word(56), word(60)]).toEqual([1, 0]);
    expect([word(64), word(68), word(72)]).toEqual([3, 7, 21]);
    expect(hex(b.subarray(76, 84))).toBe(hex(new TextEncoder().encode("kho-v4\0\0")));
    expect([word(84), word(88), word(92)]).toEqual([3, 8, 0]);
    expect(hex(b.subarray(96, 104))).toBe(hex(le64(R)));
    expect(word(104)).toBe(1);
    expect(hex(b.subarray(108, 124))).toBe(hex(new TextEncoder().encode("kexec-metadata\0\0")));
    expect([word(124), word(128), word(132)]).toEqual([3, 8, 47]);
    expect(hex(b.subarray(136, 144))).toBe(hex(le64(73)));
    expect([word(144), word(148), word(152)]).toEqual([3, 8, 32]);
    expect(hex(b.subarray(156, 164))).toBe(hex(le64(M)));
    expect([word(164), word(168), word(172)]).toEqual([2, 2, 9]);
    expect(new TextDecoder().decode(b.subarray(176, 233))).toBe(
      "preserved-memory-map\0compatible\0preserved-data\0blob-size\0",
    );
    // The next kernel's checks pass on it.
    const fdt = b.subarray(0, 4096);
    checkHeader(fdt);
    expect(nodeCheckCompatible(fdt, 0, "kho-v4")).toBe(true);
    expect(getprop(fdt, 0, "preserved-memory-map").len).toBe(8);
    // Past totalsize the page keeps what the moves left behind.
    expect(b.subarray(233, 300).some((x) => x !== 0)).toBe(true);
  });

  it("adding LUO next inserts a 52-byte node at 104", () => {
    const k = new Recorder();
    khoInit(k, 4096, R, M);
    expect(khoAddSubtree(k, 4096, "LUO", 0x2000_0000n, 32)).toBe(0);
    k.x((s) => s.dump().children("/"));
    const { ts, lines } = same(k.lines);
    expect(fdtHeader(ts.buf)).toMatchObject({ totalsize: 285, size_dt_struct: 172, off_dt_strings: 228 });
    // Struct offsets: the new node at 48 (absolute 56 + 48 = 104), the old one after it.
    expect(lines.at(-1)).toBe(`48:${hex("LUO")} 100:${hex("kexec-metadata")} ;-1`);
  });

  for (const page of [16384, 65536]) {
    it(`kho_init and subtrees with ${page / 1024} KiB pages`, () => {
      const k = new Recorder();
      khoInit(k, page, R, M, 0x33);
      khoAddSubtree(k, page, "LUO", 0x4000_0000n, 32);
      khoAddSubtree(k, page, "memblock", 0x4100_0000n, 0x1234);
      k.x((s) => s.dump());
      const { ts } = same(k.lines);
      expect(fdtHeader(ts.buf).totalsize).toBe(233 + 52 + 60);
    });
  }

  it("several subtrees, one removed by its blob address, packed", () => {
    const k = new Recorder();
    khoInit(k, 4096, R, M);
    const names = ["LUO", "memblock", "kho_test", "hugetlb"];
    for (const [i, n] of names.entries())
      expect(khoAddSubtree(k, 4096, n, 0x1000_0000n * BigInt(i + 1), 100 + i)).toBe(0);
    khoRemoveSubtree(k, 4096, 0x2000_0000n); // memblock
    khoRemoveSubtree(k, 4096, 0x9999_0000n); // no match: only re-packed
    k.x((s) => s.dump().children("/"));
    const { ts, lines } = same(k.lines);
    expect(lines.at(-1)).not.toContain(hex("memblock"));
    expect(lines.at(-1)).toContain(hex("kho_test"));
    const fdt = ts.buf.subarray(0, 4096);
    expect([...subnodes(fdt, 0)].map((o) => getName(fdt, o))).toEqual(["hugetlb", "kho_test", "LUO", "kexec-metadata"]);
  });

  it("adding an existing name is EEXIST and still packs", () => {
    const k = new Recorder();
    khoInit(k, 4096, R, M);
    expect(khoAddSubtree(k, 4096, "LUO", 0x5000n, 32)).toBe(0);
    expect(khoAddSubtree(k, 4096, "LUO", 0x6000n, 32)).toBe(EEXIST);
    k.x((s) => s.dump());
    const { lines } = same(k.lines);
    expect(lines).toContain("-2");
    expect(lines.at(-2)).toBe("0"); // the pack after the failure
  });

  it("name@unit matching: a name without @ matches name@unit, not the reverse", () => {
    const k = new Recorder();
    khoInit(k, 4096, R, M);
    expect(khoAddSubtree(k, 4096, "memblock@1000", 0x7000n, 8)).toBe(0);
    expect(khoAddSubtree(k, 4096, "memblock", 0x8000n, 8)).toBe(EEXIST);
    expect(khoAddSubtree(k, 4096, "memblock@2000", 0x9000n, 8)).toBe(0);
    expect(khoAddSubtree(k, 4096, "memblock@1000", 0xa000n, 8)).toBe(EEXIST);
    // A name that has an @ must match up to the NUL: "dual@1" is not "dual@1@2".
    expect(khoAddSubtree(k, 4096, "dual@1@2", 0xb000n, 8)).toBe(0);
    expect(khoAddSubtree(k, 4096, "dual@1", 0xc000n, 8)).toBe(0);
    k.x((s) =>
      s
        .path("/memblock")
        .path("/memblock@1000")
        .path("/memblock@3000")
        .subnode(0, "memblock")
        .subnode(0, "memblock@")
        .subnode(0, "memblo")
        .subnode(0, "dual")
        .subnode(0, "dual@1@")
        .dump(),
    );
    const { ts, lines } = same(k.lines);
    const fdt = ts.buf;
    // The newest child comes first, so the bare name finds memblock@2000.
    expect(getName(fdt, pathOffset(fdt, "/memblock"))).toBe("memblock@2000");
    expect(lines).toContain("-1");
  });

  it("fills a 4 KiB page until NOSPACE, deleting the half-made node as the kernel does", () => {
    const k = new Recorder();
    khoInit(k, 4096, R, M);
    const results: number[] = [];
    for (let i = 0; i < 80; i++) results.push(khoAddSubtree(k, 4096, `sub-${i}`, BigInt(0x10000 * (i + 1)), i));
    k.x((s) => s.dump().checkHeader());
    const { ts, lines } = same(k.lines);
    expect(results).toContain(ENOMEM);
    expect(lines).toContain("-3");
    expect(fdtHeader(ts.buf).totalsize).toBeLessThanOrEqual(4096);
    expect(lines.at(-1)).toBe("0");
  });

  it("fills exactly: a failing blob-size setprop rolls back its node", () => {
    // Pick sizes so that preserved-data fits and blob-size does not.
    const k = new Recorder();
    khoInit(k, 4096, R, M);
    let i = 0;
    while (fdtHeader(k.ts.buf).totalsize + 52 + 20 <= 4096) khoAddSubtree(k, 4096, `n${i++}`, 0x1000n, 8);
    const before = fdtHeader(k.ts.buf).totalsize;
    const err = khoAddSubtree(k, 4096, "x".repeat(((4096 - before - 8 - 20 - 4) & ~3) - 4 - 1), 0x2000n, 8);
    k.x((s) => s.dump());
    same(k.lines);
    expect(err).toBe(ENOMEM);
    expect(fdtHeader(k.ts.buf).totalsize).toBe(before);
  });
});

describe("read-write editing vs libfdt", () => {
  const base = (size = 2048, seed = 11): Script =>
    new Script()
      .buf(size, seed)
      .create(size)
      .finishRsvmap()
      .begin("")
      .prop("compatible", "kho-v4")
      .begin("a")
      .prop("reg", unhex("00000001"))
      .begin("deep")
      .prop("x", "y")
      .end()
      .end()
      .begin("b@1")
      .end()
      .end()
      .finish();

  it("string reuse: suffixes of existing names are shared, new names appended", () => {
    const s = base().openInto(2048);
    s.setprop("/", "preserved-data", le64(1)).setprop("/", "data", le64(2)).setprop("/", "patible", "p");
    s.setprop("/a", "ta", "t").setprop("/a", "reserved-data", "r").setprop("/", "new", "n");
    s.dump().pack().dump();
    const { ts } = same(s);
    const fdt = ts.buf;
    const h = fdtHeader(fdt);
    const strings = new TextDecoder().decode(fdt.subarray(h.off_dt_strings, h.off_dt_strings + h.size_dt_strings));
    expect(strings).toBe("x\0reg\0compatible\0preserved-data\0new\0");
  });

  it("setprop resizes in place (grow, shrink, same size) and new props go first", () => {
    const s = base().openInto(2048);
    s.setprop("/a", "reg", new Uint8Array(13).fill(7)).setprop("/a", "reg", new Uint8Array(2).fill(8));
    s.setprop("/a", "reg", new Uint8Array(2).fill(9)).setprop("/a", "first", "1").setprop("/a", "second", "2");
    s.props("/a").dump().pack().dump();
    const { ts } = same(s);
    const a = pathOffset(ts.buf, "/a");
    expect(findProp(ts.buf, a, "reg")?.value).toEqual(new Uint8Array([9, 9]));
  });

  it("deletes properties and nodes, leaving stale bytes past the end", () => {
    const s = base().openInto(2048);
    s.delprop("/a", "reg").delprop("/a", "reg").delprop("/", "nope").delNode("/a/deep").delNode("/a/deep");
    s.delNode("/b").delNode("/b@1").children("/").dump().pack().dump().delNode("/").dump();
    const { lines } = same(s);
    expect(lines).toContain("-1");
  });

  it("add_subnode under nested parents, then pack", () => {
    const s = base().openInto(2048);
    s.addSubnode("/a/deep", "leaf").addSubnode("/a", "deep").addSubnode("/a", "deep@5").addSubnode("/", "");
    s.addSubnode("/nope", "x").addSubnode("/a", "z").children("/a").dump().pack().dump();
    const { lines } = same(s);
    expect(lines).toContain("-2");
  });

  it("open_into: keeps an ordered blob in place, refuses a smaller buffer, re-packs a misordered one", () => {
    const s = base(1024, 5);
    s.openInto(100); // smaller than totalsize: NOSPACE
    s.openInto(1024).pack().dump();
    // Swap the order: reserve map after the strings makes the blob misordered.
    s.openInto(600).dump().pack().dump();
    s.poke(16, unhex("00000020")).openInto(1024).dump(); // rsvmap below 40: reorder through the space behind
    const { lines } = same(s);
    expect(lines).toContain("-3");
  });

  it("open_into reorders through the room after the old tree, or fails when there is none", () => {
    const s = base(1024, 8).openInto(1024).pack();
    // A reserve map at 24 overlapping the header words: blob counts as misordered.
    s.dump()
      .poke(16, unhex("00000018"))
      .openInto(300)
      .dump()
      .poke(16, unhex("00000018"))
      .openInto(1024)
      .dump()
      .checkHeader();
    const { lines } = same(s);
    expect(lines.filter((l) => l === "-3").length).toBeGreaterThanOrEqual(1);
  });

  it("a reordering open_into takes boot_cpuid_phys from the temporary copy's header bytes", () => {
    const s = base(1024, 8).openInto(1024).pack();
    // totalsize 512 with marked bytes behind it: the temporary copy is built at 512.
    s.poke(4, unhex("00000200")).poke(512, new Uint8Array(64).fill(0xab)).poke(16, unhex("00000018"));
    s.openInto(1024).dump();
    const { ts } = same(s);
    expect(fdtHeader(ts.buf).boot_cpuid_phys).toBe(0xabababab);
  });

  it("set_name, appendprop and reserve-map edits", () => {
    const s = base().openInto(2048);
    s.setName("/a", "renamed@1234").setName("/renamed", "q").appendprop("/q", "reg", unhex("0203"));
    s.appendprop("/q", "brand-new", unhex("aa")).addMemRsv(0x1000, 0x2000).addMemRsv(0x3000, 0x4000);
    s.rsvmap().delMemRsv(0).delMemRsv(5).rsvmap().dump().pack().dump();
    same(s);
  });

  it("read-write calls refuse unfinished and old blobs", () => {
    const s = new Script().buf(512, 4).create(512).finishRsvmap().begin("").prop("a", "b");
    s.openInto(512).setprop("/", "c", "d").addSubnode("/", "n").pack().dump();
    s.finishRsvmap().end().finish().poke(20, unhex("00000010")).setprop("/", "c", "d").pack().openInto(512).dump();
    same(s);
  });

  it("NOSPACE in setprop keeps the buffer as libfdt does (name taken back)", () => {
    const s = base(256, 21);
    s.openInto(256);
    for (let i = 0; i < 12; i++) s.setprop("/", `long-property-name-${i}`, new Uint8Array(8).fill(i));
    s.dump().addSubnode("/", "no-room-for-me-at-all-really").dump();
    const { lines } = same(s);
    expect(lines).toContain("-3");
  });
});

describe("read-only navigation vs libfdt", () => {
  it("paths, aliases, children, properties, names and compatible lists", () => {
    const s = new Script().buf(2048, 6).create(2048).finishRsvmap().begin("");
    s.prop("compatible", "vendor,x\0kho-v4\0").begin("aliases").prop("m", "/a/b@2").prop("bad", "/zz").end();
    s.begin("a").prop("compatible", unhex("6b686f2d7634")).begin("b@2").prop("k", "v").end().begin("c").end().end();
    s.end().finish();
    s.path("/").path("//a//b@2/").path("/a/b").path("m").path("m/").path("bad").path("nope").path("").path("/a/x");
    s.children("/").children("/a").children("/a/c").props("/").props("/aliases").name(0).name(4).name(8);
    s.compat("/", "kho-v4").compat("/", "vendor,x").compat("/", "kho").compat("/a", "kho-v4").compat("/a/c", "x");
    s.getprop("/", "compatible").getprop("/a/b", "k").getprop("/a", "nope").getprop("/", "");
    s.subnode(0, "a").subnode(0, "b").subnode(3, "a").checkHeader();
    const { ts } = same(s);
    const fdt = ts.buf;
    expect(subnodeOffset(fdt, pathOffset(fdt, "/a"), "b")).toBe(pathOffset(fdt, "m"));
    expect(nodeCheckCompatible(fdt, 0, "vendor,x")).toBe(true);
    expect(nodeCheckCompatible(fdt, 0, "kho")).toBe(false);
    expect(() => nodeCheckCompatible(fdt, pathOffset(fdt, "/a/c"), "x")).toThrowError(/FDT_ERR_NOTFOUND/);
    expect(() => getprop(fdt, 0, "nope")).toThrow(FdtError);
  });

  it("fdt_check_header on damaged headers", () => {
    const s = new Script().buf(512, 1).checkHeader().create(512).checkHeader().finishRsvmap().begin("").end();
    s.finish().checkHeader();
    const word = (o: number, v: number): Script => s.poke(o, unhex(v.toString(16).padStart(8, "0")));
    const cases: [number, number][] = [
      [20, 1], // version too old
      [24, 18], // last_comp too new
      [20, 15], // version < last_comp
      [4, 20], // totalsize below the header
      [4, 0x8000_0000], // totalsize beyond INT_MAX
      [16, 600], // rsvmap beyond totalsize
      [8, 30], // struct inside the header
      [36, 1000], // struct block past the end
      [12, 0x7fff_fff0], // strings past the end
      [32, 0xffff_fff0], // strings size overflow
      [0, 0xd00dfeee], // bad magic
    ];
    const good = new Script().buf(512, 1).create(512).finishRsvmap().begin("").end().finish();
    for (const [off, v] of cases) {
      s.add(good);
      word(off, v).checkHeader();
      // A v16 header is shorter: make the later cases also run with version 16.
      word(20, 16).checkHeader();
    }
    const { lines } = same(s);
    for (const e of ["-8", "-9", "-10"]) expect(lines).toContain(e);
  });
});

// ---------------------------------------------------------------------------
// Random call sequences, many per harness run

const NAMES = ["", "a", "b", "node", "node@1", "node@2", "LUO", "kexec-metadata", "x@1", "long-node-name-here"];
const PROPS = ["compatible", "reg", "preserved-data", "data", "ata", "blob-size", "size", "x", "patible", "", "e"];
const OTHER_PATHS = ["/a", "/b", "/node", "/node@1", "/a/b", "/a/node", "/b/a", "/LUO", "/x", "#8", "#4", "#1"];

// The root most of the time, so that edits land; other paths exist only sometimes.
const PATHS = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("/", "#0") },
  { weight: 2, arbitrary: fc.constantFrom(...OTHER_PATHS) },
);
const value = fc.uint8Array({ minLength: 0, maxLength: 20 });
const pick = <T>(xs: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...xs);

const swOp = fc.oneof(
  fc.tuple(fc.constant("begin"), pick(NAMES)).map(
    ([, n]) =>
      (s: Script) =>
        s.begin(n),
  ),
  fc.tuple(pick(PROPS), value).map(
    ([p, v]) =>
      (s: Script) =>
        s.prop(p, v),
  ),
  fc.constant((s: Script) => s.end()),
);

const rwOp = (size: number): fc.Arbitrary<(s: Script) => Script> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.tuple(PATHS, pick(NAMES)).map(
        ([p, n]) =>
          (s: Script) =>
            s.addSubnode(p, n),
      ),
    },
    {
      weight: 4,
      arbitrary: fc.tuple(PATHS, pick(PROPS), value).map(
        ([p, n, v]) =>
          (s: Script) =>
            s.setprop(p, n, v),
      ),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(PATHS, pick(PROPS)).map(
        ([p, n]) =>
          (s: Script) =>
            s.delprop(p, n),
      ),
    },
    { weight: 2, arbitrary: PATHS.map((p) => (s: Script) => s.delNode(p)) },
    {
      weight: 1,
      arbitrary: fc.tuple(PATHS, pick(PROPS), value).map(
        ([p, n, v]) =>
          (s: Script) =>
            s.appendprop(p, n, v),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(PATHS, pick(NAMES)).map(
        ([p, n]) =>
          (s: Script) =>
            s.setName(p, n),
      ),
    },
    { weight: 2, arbitrary: fc.constant((s: Script) => s.pack()) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: size }).map((n) => (s: Script) => s.openInto(n)) },
    { weight: 1, arbitrary: fc.constant((s: Script) => s.addMemRsv(0x1000, 0x2000)) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 }).map((n) => (s: Script) => s.delMemRsv(n)) },
    { weight: 1, arbitrary: PATHS.map((p) => (s: Script) => s.children(p)) },
    {
      weight: 1,
      arbitrary: fc.tuple(PATHS, pick(PROPS)).map(
        ([p, n]) =>
          (s: Script) =>
            s.getprop(p, n),
      ),
    },
    { weight: 1, arbitrary: fc.constant((s: Script) => s.dump()) },
  );

interface RandomNode {
  name: string;
  props: [string, Uint8Array][];
  children: RandomNode[];
}

const tree: fc.Arbitrary<RandomNode> = fc.letrec<{ node: RandomNode }>((tie) => ({
  node: fc.record({
    name: pick(NAMES),
    props: fc.array(fc.tuple(pick(PROPS), value), { maxLength: 3 }),
    children: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.constant<RandomNode[]>([]),
      fc.array(tie("node"), { maxLength: 3 }),
    ),
  }),
})).node;

function emit(s: Script, n: RandomNode, root: boolean): void {
  s.begin(root ? "" : n.name);
  for (const [k, v] of n.props) s.prop(k, v);
  for (const c of n.children) emit(s, c, false);
  s.end();
}

const sequence = fc
  .record({
    size: fc.oneof(fc.integer({ min: 64, max: 400 }), fc.integer({ min: 400, max: 2048 })),
    seed: fc.integer({ min: 0, max: 255 }),
    slack: fc.oneof(
      { weight: 3, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 64 }) },
    ),
    rsv: fc.integer({ min: 0, max: 2 }),
    finish: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    tree,
  })
  .chain((p) =>
    fc.record({
      p: fc.constant(p),
      // A few raw calls after the tree, misuse included (stray END_NODE, late properties).
      sw: fc.oneof(
        { weight: 3, arbitrary: fc.constant([]) },
        { weight: 1, arbitrary: fc.array(swOp, { maxLength: 3 }) },
      ),
      rw: fc.array(rwOp(p.size), { minLength: 4, maxLength: 24 }),
      open: fc.oneof(
        { weight: 4, arbitrary: fc.constant(p.size) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: p.size }) },
      ),
    }),
  )
  .map(({ p, sw, rw, open }) => {
    // Never below a header: libfdt's property calls do not probe the blob and
    // would read wild memory on a buffer that never became a devicetree.
    const s = new Script().buf(p.size, p.seed).create(Math.max(p.size - p.slack, 64));
    for (let i = 0; i < p.rsv; i++) s.rsv(0x1000 * (i + 1), 0x100);
    s.finishRsvmap();
    emit(s, p.tree, true);
    for (const op of sw) op(s);
    if (p.finish) s.finish();
    s.openInto(open);
    for (const op of rw) op(s);
    return s.dump();
  });

/** Whether a transcript shows an edit that took effect (not only refusals). */
function edited(script: string[], out: string[]): boolean {
  return script.some((l, i) => {
    const cmd = l.split(" ")[0];
    const r = Number(out[i]);
    return (
      (cmd === "add_subnode" && r >= 0) || ((cmd === "setprop" || cmd === "del_node" || cmd === "delprop") && r === 0)
    );
  });
}

describe("random call sequences vs libfdt", () => {
  it("agree on every return code and every byte (batched)", () => {
    // A fixed seed keeps the run reproducible; FDT_RUNS / FDT_SEED widen it by hand.
    const numRuns = Number(process.env.FDT_RUNS ?? 400);
    const seed = Number(process.env.FDT_SEED ?? 0x6b686f);
    const seqs = fc.sample(sequence, { numRuns, seed });
    const script: string[] = seqs.flatMap((s) => s.lines);
    const want = splitSequences(runHarness(harness, `${script.join("\n")}\n`));
    const got = splitSequences(runTs(`${script.join("\n")}\n`));
    expect(got.length).toBe(seqs.length);
    expect(want.length).toBe(seqs.length);
    let nonTrivial = 0;
    seqs.forEach((s, i) => {
      const diff = firstDifference(s.lines, want[i]!, got[i]!);
      expect(diff, `sequence ${i}:\n${s.lines.join("\n")}\n${diff}`).toBeUndefined();
      if (edited(s.lines, want[i]!)) nonTrivial++;
    });
    // The generator must reach real edits, not only errors.
    expect(nonTrivial).toBeGreaterThan(seqs.length / 2);
  });

  it("agree under fast-check with shrinking (one harness run per case)", () => {
    fc.assert(
      fc.property(sequence, (s) => {
        const want = runHarness(harness, s.toString());
        const got = runTs(s.toString());
        return firstDifference(s.lines, want, got) === undefined;
      }),
      { numRuns: 40, seed: 0x4b484f },
    );
  });
});

describe("FdtRw on a view of larger memory", () => {
  it("touches only the view and matches the standalone result", () => {
    const mem = new Uint8Array(3 * 4096).fill(0xee);
    const page = mem.subarray(4096, 8192);
    const sw = FdtSw.createInto(page, 4096);
    sw.finishReservemap();
    sw.beginNode("");
    sw.propertyString("compatible", "kho-v4");
    sw.propertyU64Le("preserved-memory-map", R);
    sw.endNode();
    sw.finish();
    const rw = FdtRw.openInto(page, 4096);
    const off = rw.addSubnode(0, "kexec-metadata");
    rw.setpropU64Le(off, "preserved-data", M);
    rw.setpropU64Le(off, "blob-size", 73);
    rw.pack();
    expect(rw.totalsize).toBe(233);
    expect(mem.subarray(0, 4096).every((x) => x === 0xee)).toBe(true);
    expect(mem.subarray(8192).every((x) => x === 0xee)).toBe(true);
    expect(() => rw.addSubnode(0, "kexec-metadata")).toThrowError(/FDT_ERR_EXISTS/);
    const k = new Recorder();
    khoInit(k, 4096, R, M, 0);
    expect(hex(rw.blob)).toBe(hex(k.ts.buf.subarray(0, 233)));
  });
});
