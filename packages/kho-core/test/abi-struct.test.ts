import { describe, expect, expectTypeOf, it } from "vitest";
import {
  defineStruct,
  field,
  kho_block_header_ser,
  kho_data,
  kho_scratch,
  kho_vmalloc,
  kho_vmalloc_chunk,
  type PhysAccess,
  setup_data,
} from "../src/abi/index.js";
import { isKhoError } from "../src/errors.js";

/** Test-only declarations of plugin structs, to show the vocabulary covers them. */
const kho_kexec_metadata = defineStruct(
  "kho_kexec_metadata",
  { version: field.u32({ oneOf: [1] }), previous_release: field.char(65), kexec_count: field.u32() },
  { packed: true },
);
const luo_ser = defineStruct(
  "luo_ser",
  {
    compatible: field.charFor("luo-v5", 8),
    liveupdate_num: field.u64(),
    sessions_pa: field.phys(),
    flbs_pa: field.phys(),
  },
  { packed: true },
);

function throwsKho(fn: () => unknown, code: string, where: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(isKhoError(e), String(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    expect((e as { where?: string }).where).toMatch(where);
    return;
  }
  throw new Error("expected a KhoError");
}

function offsets(s: { members: readonly { name: string; offset: number }[] }): Record<string, number> {
  return Object.fromEntries(s.members.map((m) => [m.name, m.offset]));
}

describe("core layouts match the spec", () => {
  it("sizes and offsets", () => {
    expect(kho_block_header_ser.size).toBe(16);
    expect(offsets(kho_block_header_ser)).toEqual({ next: 0, count: 8 });
    expect(kho_scratch.size).toBe(16);
    expect(kho_data.size).toBe(32);
    expect(offsets(kho_data)).toEqual({ fdt_addr: 0, fdt_size: 8, scratch_addr: 16, scratch_size: 24 });
    expect(setup_data.size).toBe(16);
    expect(kho_vmalloc.size).toBe(16);
    expect(offsets(kho_vmalloc)).toEqual({ first: 0, total_pages: 8, flags: 12, order: 14 });
    expect(kho_vmalloc.packed).toBe(false);
  });

  it("kho_vmalloc_chunk fills exactly one page of each size", () => {
    for (const [ps, n] of [
      [4096, 511],
      [16384, 2047],
      [65536, 8191],
    ] as const) {
      const chunk = kho_vmalloc_chunk.at(ps);
      expect(chunk.size).toBe(ps);
      expect(chunk.offsetOf("phys")).toBe(8);
      expect(chunk.decode(new Uint8Array(ps)).phys).toHaveLength(n);
    }
    expect(kho_vmalloc_chunk.at(4096)).toBe(kho_vmalloc_chunk.at(4096));
  });

  it("plugin structs: kexec metadata is 73 packed bytes, luo_ser 32 with an aligned compatible slot", () => {
    expect(kho_kexec_metadata.size).toBe(73);
    expect(offsets(kho_kexec_metadata)).toEqual({ version: 0, previous_release: 4, kexec_count: 69 });
    expect(luo_ser.size).toBe(32);
    expect(offsets(luo_ser)).toEqual({ compatible: 0, liveupdate_num: 8, sessions_pa: 16, flbs_pa: 24 });
    const bytes = luo_ser.encode({ compatible: "luo-v5", liveupdate_num: 1n, sessions_pa: 0n, flbs_pa: 0x5000n });
    expect(Array.from(bytes.subarray(0, 9))).toEqual([...Buffer.from("luo-v5"), 0, 0, 1]);
  });
});

describe("struct codec", () => {
  it("decodes with inferred types", () => {
    const v = kho_kexec_metadata.decode(
      kho_kexec_metadata.encode({ version: 1, previous_release: "7.2.0-rc1", kexec_count: 5 }),
    );
    expectTypeOf(v).toEqualTypeOf<{ version: number; previous_release: string; kexec_count: number }>();
    expectTypeOf(kho_vmalloc_chunk.at(4096).decode(new Uint8Array(4096)).hdr.next).toEqualTypeOf<bigint>();
    expect(v).toEqual({ version: 1, previous_release: "7.2.0-rc1", kexec_count: 5 });
  });

  it("a char field keeps a leading U+FEFF: its bytes are data, not a byte-order mark", () => {
    const s = defineStruct("bom", { name: field.char(8) }, { packed: true });
    const bytes = s.encode({ name: "\uFEFFx" });
    expect([...bytes.subarray(0, 4)]).toEqual([0xef, 0xbb, 0xbf, 0x78]);
    expect(s.decode(bytes).name).toBe("\uFEFFx");
  });

  it("little-endian by default, big-endian on request", () => {
    const s = defineStruct(
      "ends",
      { le: field.u32(), be: field.u32({ endian: "be" }), be64: field.u64({ endian: "be" }) },
      { packed: true },
    );
    const b = s.encode({ le: 0x01020304, be: 0x01020304, be64: 0x0102030405060708n });
    expect(Array.from(b)).toEqual([4, 3, 2, 1, 1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("natural alignment pads like gcc and rejects non-zero padding", () => {
    const s = defineStruct("padded", { a: field.u8(), b: field.u64(), c: field.u16() }, { packed: false });
    expect([s.offsetOf("a"), s.offsetOf("b"), s.offsetOf("c"), s.size, s.align]).toEqual([0, 8, 16, 24, 8]);
    const bytes = s.encode({ a: 1, b: 2n, c: 3 });
    bytes[3] = 0xff;
    throwsKho(() => s.decode(bytes), "EINVAL", /^padded$/);
  });

  it("nested structs and arrays carry field paths into errors", () => {
    const inner = defineStruct("inner", { x: field.u16({ max: 10 }) }, { packed: true });
    const outer = defineStruct("outer", { items: field.array(inner, 3) }, { packed: true });
    throwsKho(() => outer.encode({ items: [{ x: 1 }, { x: 11 }, { x: 0 }] }), "ERANGE", /^outer\.items\[1\]\.x$/);
    throwsKho(() => outer.decode(Uint8Array.of(0, 0, 0, 0, 99, 0)), "ERANGE", /^outer\.items\[2\]\.x$/);
  });

  it("char[N]: NUL required, too-long strings refused, garbage after NUL refused", () => {
    const raw = new Uint8Array(73);
    raw[0] = 1;
    raw.fill(0x41, 4, 69);
    throwsKho(() => kho_kexec_metadata.decode(raw), "EINVAL", /previous_release$/);
    throwsKho(
      () => kho_kexec_metadata.encode({ version: 1, previous_release: "x".repeat(65), kexec_count: 0 }),
      "EINVAL",
      /^kho_kexec_metadata\.previous_release$/,
    );
    raw.fill(0, 4, 69);
    raw[10] = 0x42;
    throwsKho(() => kho_kexec_metadata.decode(raw), "EINVAL", /previous_release$/);
    const opt = defineStruct("name", { n: field.char(4, { nul: "optional" }) }, { packed: true });
    expect(opt.decode(opt.encode({ n: "abcd" }))).toEqual({ n: "abcd" });
  });

  it("enumerations and short buffers", () => {
    const bad = kho_kexec_metadata.encode({ version: 1, previous_release: "", kexec_count: 0 });
    bad[0] = 2;
    throwsKho(() => kho_kexec_metadata.decode(bad), "ERANGE", /^kho_kexec_metadata\.version$/);
    throwsKho(() => kho_kexec_metadata.decode(new Uint8Array(72)), "EINVAL", /^kho_kexec_metadata$/);
    throwsKho(() => kho_block_header_ser.encode({ next: -1n, count: 0n }), "ERANGE", /^kho_block_header_ser\.next$/);
  });

  it("reads and writes at a physical address", () => {
    const ram = new Uint8Array(0x3000);
    const mem: PhysAccess = {
      read: (pa, len) => ram.slice(pa - 0x1000, pa - 0x1000 + len),
      write: (pa, bytes) => ram.set(bytes, pa - 0x1000),
    };
    kho_data.writeAt(mem, 0x2000, { fdt_addr: 0x10000n, fdt_size: 4096n, scratch_addr: 0x20000n, scratch_size: 48n });
    expect(kho_data.readAt(mem, 0x2000).scratch_size).toBe(48n);
    ram[0x1000 + 8] = 0xff;
    expect(kho_data.readAt(mem, 0x2000).fdt_size).toBe(4351n);
    throwsKho(() => kho_kexec_metadata.readAt(mem, 0x2000), "ERANGE", /^kho_kexec_metadata@0x2000\.version$/);
  });
});
