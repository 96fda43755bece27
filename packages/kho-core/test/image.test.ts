import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KhoError } from "../src/errors.js";
import {
  bootFromImage,
  captureImage,
  decodeImage,
  Elf64_Ehdr,
  Elf64_Nhdr,
  Elf64_Phdr,
  encodeImage,
  type HandoverImage,
  imageInfo,
  kexecToImage,
  loadImage,
  NT_KHOSIM_MACHINE,
  NT_KHOSIM_RECORD,
  NT_KHOSIM_RELEASE,
  NT_KHOSIM_SEEDED,
  NT_KHOSIM_SEGMENTS,
  readImageFile,
  writeImageFile,
} from "../src/image/index.js";
import { Machine } from "../src/kexec/index.js";

const dir = mkdtempSync(join(tmpdir(), "khosim-image-"));

function readelf(args: string[], file: string): string {
  try {
    return execFileSync("readelf", [...args, file], { encoding: "utf8" });
  } catch (e) {
    throw new Error(`readelf (binutils) is required for this test and failed: ${(e as Error).message}`);
  }
}

/** Deterministic page contents (an LCG), so a restored folio can be compared byte for byte. */
function pattern(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  let x = seed >>> 0;
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

interface Preserved {
  pa: number;
  order: number;
  data: Uint8Array;
}

/** A cold boot that preserves two folios with known contents, then a kexec captured as an image. */
function scenario(
  arch: "x86" | "arm64" = "x86",
  pageSize = "4KiB",
): { machine: Machine; image: HandoverImage; folios: Preserved[] } {
  const machine = new Machine({
    pageSize,
    ram: [
      { start: 0, size: "2GiB", nid: 0 },
      { start: "2GiB", size: "2GiB", nid: 1 },
    ],
  });
  const a = machine.boot({ release: "7.2.0-rc1-a", arch });
  const folios: Preserved[] = [];
  for (const [order, seed] of [
    [0, 1],
    [3, 2],
  ] as const) {
    const pa = a.alloc.alloc(order);
    const data = pattern(machine.mem.pageSize * 2 ** order, seed);
    machine.mem.write(pa, data);
    a.out!.preserveFolio({ pa, order });
    folios.push({ pa, order, data });
  }
  const { image } = kexecToImage(machine, { release: "7.2.0-rc1-b", arch });
  return { machine, image, folios };
}

describe("ELF core images", () => {
  it("declares the ELF64 headers with the gABI sizes", () => {
    expect([Elf64_Ehdr.size, Elf64_Phdr.size, Elf64_Nhdr.size]).toEqual([64, 56, 12]);
    expect(Elf64_Ehdr.offsetOf("e_phnum")).toBe(56);
    expect(Elf64_Phdr.offsetOf("p_paddr")).toBe(24);
  });

  it("readelf -lW lists one PT_LOAD per run of live pages with p_paddr = physical address", () => {
    const { image } = scenario();
    const file = join(dir, "x86.core");
    writeImageFile(file, image);
    const text = readelf(["-hlW"], file);
    expect(text).toMatch(/Type:\s+CORE \(Core file\)/);
    expect(text).toMatch(/Machine:\s+Advanced Micro Devices X86-64/);
    const loads = [
      ...text.matchAll(
        /^\s+LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+RWE\s+0x1000$/gm,
      ),
    ];
    expect(loads.length).toBe(image.loads.length);
    loads.forEach((m, i) => {
      const l = image.loads[i]!;
      expect(Number(m[3])).toBe(l.pa);
      expect(BigInt(m[2]!)).toBe(0xffff888000000000n + BigInt(l.pa));
      expect(Number(m[4])).toBe(l.data.length);
      expect(Number(m[5])).toBe(l.memsz);
      expect(Number(m[1]) % 4096).toBe(0);
    });
    expect(text).toMatch(/^\s+NOTE\s/m);
    // The kernel image segment was never written: memory without file bytes.
    const seg = image.segments.find((s) => s.kind === "kernel image")!;
    expect(image.loads.find((l) => l.pa === seg.pa)).toMatchObject({ memsz: seg.size, data: new Uint8Array(0) });
  });

  it("readelf -nW shows the KHOSIM notes: record, machine, release, segments", () => {
    const { image } = scenario();
    const file = join(dir, "notes.core");
    writeImageFile(file, image);
    const text = readelf(["-nW"], file);
    const notes = [...text.matchAll(/^\s+KHOSIM\s+(0x[0-9a-f]+)\s+Unknown note type: \((0x[0-9a-f]+)\)/gm)].map((m) => [
      Number(m[2]),
      Number(m[1]),
    ]);
    expect(notes).toEqual([
      [NT_KHOSIM_RECORD, 8 + 48],
      [NT_KHOSIM_MACHINE, 8 + 2 * 24],
      [NT_KHOSIM_RELEASE, 65],
      [NT_KHOSIM_SEGMENTS, 2 * 24],
    ]);
  });

  it("an arm64 kernel's DT-format handover makes an AArch64 image carrying the boot devicetree", () => {
    const { image } = scenario("arm64");
    const file = join(dir, "dt.core");
    writeImageFile(file, image);
    expect(readelf(["-hW"], file)).toMatch(/Machine:\s+AArch64/);
    const loads = readelf(["-lW"], file).match(/^\s+LOAD\s+\S+\s+(0x[0-9a-f]+)/m)!;
    expect(BigInt(loads[1]!)).toBe(0xffff000000000000n + BigInt(image.loads[0]!.pa));
    const info = imageInfo(readImageFile(file));
    expect(info.record?.format).toBe("dt");
    expect(info.record?.decoded?.fdtSize).toBe("0x1000");
  });

  it("save, load and boot: the next kernel restores the preserved folios bit for bit", () => {
    const { image, folios, machine } = scenario();
    const file = join(dir, "roundtrip.core");
    writeImageFile(file, image);
    const back = readImageFile(file);
    expect(back.release).toBe("7.2.0-rc1-a");
    expect(back.machine).toEqual({ pageSize: 4096, ram: machine.mem.ranges.map((r) => ({ ...r })) });
    const { kernel, record } = bootFromImage(back, { release: "7.2.0-rc1-c" });
    expect(record).not.toBeNull();
    expect(kernel.bootKind).toBe("kho");
    expect(kernel.log.toString()).toContain("KHO: found kexec handover data.");
    for (const f of folios) {
      expect(kernel.in!.restoreFolio(f.pa)).toEqual({ pa: f.pa, order: f.order });
      expect(kernel.mem.read(f.pa, f.data.length)).toEqual(f.data);
    }
  });

  it("the same works with 16 KiB pages and an arm64 (DT) handover", () => {
    const { image, folios } = scenario("arm64", "16KiB");
    const { kernel } = bootFromImage(decodeImage(encodeImage(image)), { release: "c", arch: "arm64" });
    expect(kernel.bootKind).toBe("kho");
    for (const f of folios) {
      expect(kernel.in!.restoreFolio(f.pa)?.order).toBe(f.order);
      expect(kernel.mem.read(f.pa, f.data.length)).toEqual(f.data);
    }
  });

  it("memory the image does not hold is poisoned in the loaded machine", () => {
    const { image, folios } = scenario();
    const outside = 0x40000000; // free memory in the outgoing kernel: never handed over
    expect(image.loads.some((l) => l.pa <= outside && outside < l.pa + l.memsz)).toBe(false);
    const machine = loadImage(image);
    expect(machine.mem.isPoisoned(outside / 4096)).toBe(true);
    expect(() => machine.mem.read(outside, 8)).toThrow(/not in the image/);
    expect(machine.mem.read(folios[1]!.pa, 4096)).toEqual(folios[1]!.data.subarray(0, 4096));
    // A machine that never kexec'd owns all of its RAM: one load, no file bytes for unwritten pages.
    const img = captureImage(new Machine({ pageSize: "4KiB", ram: [{ start: 0, size: "64MiB" }] }));
    expect(img.loads).toEqual([{ pa: 0, memsz: 64 << 20, data: new Uint8Array(0) }]);
  });

  it("a kernel of the other handover format finds no record and boots cold", () => {
    const { image } = scenario("x86");
    const { kernel, record } = bootFromImage(image, { release: "c", arch: "arm64" });
    expect(record).toBeNull();
    expect(kernel.bootKind).toBe("cold");
  });
});

describe("seeded memory in images", () => {
  /** A 2 MiB folio given a seeded fill (never stored), one page of it then written, and a kexec to an image. */
  function seededScenario(): { image: HandoverImage; pa: number; size: number; written: Uint8Array } {
    const machine = new Machine({ pageSize: "4KiB", ram: [{ start: 0, size: "2GiB", nid: 0 }] });
    const a = machine.boot({ release: "a" });
    const pa = a.alloc.alloc(9);
    const size = 4096 << 9;
    machine.mem.fillSeeded(pa, size, 0xc0ffee);
    const written = pattern(4096, 7);
    machine.mem.write(pa + 5 * 4096, written);
    a.out!.preserveFolio({ pa, order: 9 });
    return { image: kexecToImage(machine, { release: "b" }).image, pa, size, written };
  }

  it("a seeded fill travels as runs and seeds (a note), not bytes, and comes back bit for bit", () => {
    const { image, pa, size, written } = seededScenario();
    // Pages 0-4 and 6-511 of the folio still follow the seed; page 5 is stored and is file data.
    expect(image.seeded).toEqual([
      { pa, size: 5 * 4096, seed: 0xc0ffee },
      { pa: pa + 6 * 4096, size: size - 6 * 4096, seed: 0xc0ffee },
    ]);
    const file = join(dir, "seeded.core");
    writeImageFile(file, image);
    const notes = readelf(["-nW"], file);
    expect(notes).toMatch(
      new RegExp(`KHOSIM\\s+0x0*30\\s+Unknown note type: \\(0x${NT_KHOSIM_SEEDED.toString(16)}\\)`),
    );
    const back = readImageFile(file);
    expect(back.seeded).toEqual(image.seeded);
    const info = imageInfo(back);
    expect(info.totals.seededBytes).toBe(size - 4096);
    expect(info.seeded.map((r) => r.seed)).toEqual(["0xc0ffee", "0xc0ffee"]);
    const { kernel } = bootFromImage(back, { release: "c" });
    expect(kernel.in!.restoreFolio(pa)).toEqual({ pa, order: 9 });
    expect(kernel.mem.read(pa + 5 * 4096, 4096)).toEqual(written);
    // Every other page is the seed's fill: the written page is the only one that differs from it.
    expect([...kernel.mem.seededDiffs(pa, size, 0xc0ffee)]).toEqual([pa + 5 * 4096]);
  });

  it("seeded runs that are unaligned, overlap, cover file data or lie outside the loads are EINVAL", () => {
    const { image, pa } = seededScenario();
    const first = image.seeded[0]!;
    const cases: [HandoverImage["seeded"], RegExp][] = [
      [[{ ...first, size: 100 }], /not page aligned/],
      [[first, { ...first, pa: first.pa + 4096 }], /not ascending and disjoint/],
      [[{ ...first, size: 6 * 4096 }], /zero-filled tail/],
      [[{ pa: 0x7000_0000, size: 4096, seed: 1 }], /zero-filled tail/],
    ];
    for (const [seeded, message] of cases) {
      let err: unknown;
      try {
        decodeImage(encodeImage({ ...image, seeded }));
      } catch (e) {
        err = e;
      }
      expect(err, String(message)).toBeInstanceOf(KhoError);
      expect((err as KhoError).code).toBe("EINVAL");
      expect((err as KhoError).message).toMatch(message);
      expect((err as KhoError).where).toMatch(/seeded\[\d\]/);
    }
    expect(pa).toBe(first.pa);
  });
});

describe("many segments", () => {
  it("past 65534 program headers the count moves to section 0 (PN_XNUM), and reads back", () => {
    const n = 70000;
    const loads = Array.from({ length: n }, (_, i) => ({ pa: i * 2 * 4096, memsz: 4096, data: new Uint8Array(0) }));
    const image: HandoverImage = {
      arch: "x86_64",
      machine: { pageSize: 4096, ram: [{ start: 0, size: 2 * n * 4096, nid: 0 }] },
      release: null,
      record: null,
      segments: [],
      loads,
      seeded: [],
    };
    const file = join(dir, "xnum.core");
    writeImageFile(file, image);
    expect(readelf(["-hW"], file)).toMatch(/Number of program headers:\s+65535 \(70001\)/);
    const back = readImageFile(file);
    expect(back.loads.length).toBe(n);
    expect(back.loads[n - 1]).toEqual(loads[n - 1]);
  });
});

describe("hostile images", () => {
  const good = encodeImage(scenario().image);
  const u32 = (b: Uint8Array, off: number, v: number): void =>
    new DataView(b.buffer, b.byteOffset).setUint32(off, v, true);
  const u64 = (b: Uint8Array, off: number, v: bigint): void =>
    new DataView(b.buffer, b.byteOffset).setBigUint64(off, v, true);
  const phdr = (i: number, field: "p_offset" | "p_paddr" | "p_filesz" | "p_memsz"): number =>
    64 + i * 56 + Elf64_Phdr.offsetOf(field);

  function expectError(bytes: Uint8Array, code: string, where: RegExp): void {
    let err: unknown;
    try {
      decodeImage(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KhoError);
    expect((err as KhoError).code).toBe(code);
    expect((err as KhoError).where).toMatch(where);
  }
  const mutate = (fn: (b: Uint8Array) => void): Uint8Array => {
    const b = good.slice();
    fn(b);
    return b;
  };

  it("bad magic, class, endianness, type and machine are EINVAL", () => {
    expectError(
      mutate((b) => (b[0] = 0)),
      "EINVAL",
      /e_ident/,
    );
    expectError(
      mutate((b) => (b[4] = 1)),
      "EINVAL",
      /ei_class/,
    );
    expectError(
      mutate((b) => (b[5] = 2)),
      "EINVAL",
      /ei_data/,
    );
    expectError(
      mutate((b) => (b[16] = 2)),
      "EINVAL",
      /e_type/,
    );
    expectError(
      mutate((b) => (b[18] = 40)),
      "EINVAL",
      /e_machine/,
    );
  });

  it("truncated files are EIO at every cut, never a crash", () => {
    expectError(good.subarray(0, 10), "EIO", /Elf64_Ehdr/);
    expectError(good.subarray(0, 100), "EIO", /e_phnum/);
    expectError(good.subarray(0, good.length - 1), "EIO", /PT_LOAD/);
    for (let cut = 0; cut < 0x1000; cut += 37) expect(() => decodeImage(good.subarray(0, cut))).toThrow(KhoError);
  });

  it("absurd counts and offsets are refused before anything is sized by them", () => {
    expectError(
      mutate((b) => {
        b[56] = 0xfe;
        b[57] = 0xff;
      }),
      "EIO",
      /e_phnum/,
    );
    expectError(
      mutate((b) => u64(b, 32, 1n << 62n)),
      "EIO",
      /e_phoff/,
    );
    expectError(
      mutate((b) => u32(b, phdr(0, "p_filesz"), 0x7fffffff)),
      "EIO",
      /PT_NOTE/,
    );
    expectError(
      mutate((b) => u64(b, phdr(1, "p_filesz"), 1n << 40n)),
      "EIO",
      /PT_LOAD/,
    );
  });

  it("segments outside RAM, unaligned or overlapping are refused", () => {
    expectError(
      mutate((b) => u64(b, phdr(1, "p_paddr"), 5n << 30n)),
      "ERANGE",
      /phdr\[1\] PT_LOAD/,
    );
    expectError(
      mutate((b) => u64(b, phdr(1, "p_paddr"), 0x100800n)),
      "EINVAL",
      /phdr\[1\] PT_LOAD/,
    );
    expectError(
      mutate((b) => u64(b, phdr(2, "p_paddr"), BigInt(scenario().image.loads[0]!.pa))),
      "EINVAL",
      /PT_LOAD/,
    );
    expectError(
      mutate((b) => u64(b, phdr(1, "p_memsz"), 0n)),
      "EINVAL",
      /phdr\[1\] PT_LOAD/,
    );
  });

  it("malformed notes are EINVAL naming the note", () => {
    const notesAt = Number(new DataView(good.buffer).getBigUint64(64 + 8, true));
    expectError(
      mutate((b) => u32(b, notesAt, 0xffffff)),
      "EINVAL",
      /note\[0\]/,
    );
    // The record note's size field disagrees with its descriptor.
    expectError(
      mutate((b) => u32(b, notesAt + 12 + 8 + 4, 47)),
      "EINVAL",
      /note\[0\] KHOSIM/,
    );
  });
});
