import { describe, expect, it } from "vitest";
import { kho_scratch } from "../src/abi/index.js";
import { X86_LOW_ADDRESS_LIMIT } from "../src/arch.js";
import { KhoError } from "../src/errors.js";
import {
  DEFAULT_SCRATCH_PARAMS,
  decodeScratchArray,
  encodeScratchArray,
  memparse,
  parseKhoScratch,
  readInheritedScratch,
  reserveScratch,
  type ScratchParams,
  SimMemblock,
  scratchAlignment,
  scratchSizes,
} from "../src/kho/scratch.js";
import { PhysMem } from "../src/mem/index.js";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function parse(value: string | null, prev: ScratchParams = DEFAULT_SCRATCH_PARAMS) {
  const log: string[] = [];
  return { params: parseKhoScratch(value, prev, (l) => log.push(l)), log };
}

describe("kho_scratch= parsing", () => {
  it.each([
    ["50%", 50, "scratch scale is 50%"],
    ["+7%", 7, "scratch scale is 7%"],
    ["0200%", 200, "scratch scale is 200%"],
    ["4294967295%", 4294967295, "scratch scale is -1%"],
    ["0%", 0, "scratch scale is 0%"],
  ])("%s sets the scale only", (value, scale, line) => {
    const prev = { scale: 200, lowmem: 1n, global: 2n, pernode: 3n };
    expect(parse(value, prev)).toEqual({ params: { ...prev, scale }, log: [line] });
  });

  it.each([
    [
      "16M,512M,256M",
      [16n * 2n ** 20n, 512n * 2n ** 20n, 256n * 2n ** 20n],
      "lowmem: 16MiB global: 512MiB pernode: 256MiB",
    ],
    ["0x1000000,1g,0", [16n * 2n ** 20n, 2n ** 30n, 0n], "lowmem: 16MiB global: 1024MiB pernode: 0MiB"],
    ["010M,0,1k", [8n * 2n ** 20n, 0n, 1024n], "lowmem: 8MiB global: 0MiB pernode: 0MiB"],
    [
      "1t,1P,1e",
      [2n ** 40n, 2n ** 50n, 2n ** 60n],
      "lowmem: 1048576MiB global: 1073741824MiB pernode: 1099511627776MiB",
    ],
    // memparse consumes a suffix even without digits: "K" is 0 bytes.
    ["K,1M,0", [0n, 2n ** 20n, 0n], "lowmem: 0MiB global: 1MiB pernode: 0MiB"],
    ["4096,0,0", [4096n, 0n, 0n], "lowmem: 0MiB global: 0MiB pernode: 0MiB"],
  ])("%s sets three sizes and scale 0", (value, [lowmem, global, pernode], line) => {
    expect(parse(value)).toEqual({ params: { scale: 0, lowmem, global, pernode }, log: [`scratch areas: ${line}`] });
  });

  it.each([
    [null, "EINVAL"],
    ["", "EINVAL"],
    ["%", "EINVAL"],
    ["12345678901%", "EINVAL"],
    ["4294967296%", "ERANGE"],
    ["0x10%", "EINVAL"],
    ["-5%", "EINVAL"],
    ["5 %", "EINVAL"],
    ["1M,2M", "EINVAL"],
    ["1M,2M,3M,4M", "EINVAL"],
    ["1M,2M,3MB", "EINVAL"],
    ["1M;2M;3M", "EINVAL"],
    ["-1M,1M,1M", "EINVAL"],
    [",1M,1M", "EINVAL"],
    ["0,0,0", "EINVAL"],
    ["0x,1M,1M", "EINVAL"],
    // The sum wraps to 0 in the kernel's size_t.
    ["8E,8E,0", "EINVAL"],
    ["1M,2M,3M%", "EINVAL"],
  ])("%s is refused with %s and logs nothing", (value, code) => {
    const log: string[] = [];
    try {
      parseKhoScratch(value, DEFAULT_SCRATCH_PARAMS, (l) => log.push(l));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(KhoError);
      expect((e as KhoError).code).toBe(code);
    }
    expect(log).toEqual([]);
  });

  it("memparse reads the kernel's bases and suffixes and reports where it stopped", () => {
    expect(memparse("0x10k,")).toEqual({ value: 16n * 1024n, end: 5 });
    expect(memparse("017")).toEqual({ value: 15n, end: 3 });
    expect(memparse("09")).toEqual({ value: 0n, end: 1 });
    expect(memparse("abc")).toEqual({ value: 0n, end: 0 });
    expect(memparse("16E")).toEqual({ value: 0n, end: 3 });
  });
});

describe("scratch sizes", () => {
  const reserved = { belowLowLimit: 40 * MiB, total: 100 * MiB, perNode: { 0: 70 * MiB, 1: 30 * MiB } };

  it("scale mode: lowmem, global = total share minus lowmem, one per node; rounded to the alignment", () => {
    expect(scratchSizes(DEFAULT_SCRATCH_PARAMS, reserved, [0, 1], 2 * MiB)).toEqual({
      lowmem: BigInt(80 * MiB),
      global: BigInt(120 * MiB),
      nodes: [
        { nid: 0, size: BigInt(140 * MiB) },
        { nid: 1, size: BigInt(60 * MiB) },
      ],
    });
    const odd = { belowLowLimit: 1, total: 3 * MiB, perNode: { 0: 5 } };
    expect(scratchSizes({ ...DEFAULT_SCRATCH_PARAMS, scale: 100 }, odd, [0], 2 * MiB)).toEqual({
      lowmem: BigInt(2 * MiB),
      global: BigInt(4 * MiB),
      nodes: [{ nid: 0, size: BigInt(2 * MiB) }],
    });
  });

  it("issue 8 item 2: global subtracts the unrounded lowmem share (0e39380a7316), then rounds", () => {
    // lowmem share 2 MiB + 2 rounds to 4 MiB; global is 6 MiB - (2 MiB + 2), rounded: 4 MiB, not 6 - 4 = 2 MiB.
    const r = { belowLowLimit: MiB + 1, total: 3 * MiB, perNode: {} };
    const s = scratchSizes(DEFAULT_SCRATCH_PARAMS, r, [], 2 * MiB);
    expect(s.lowmem).toBe(BigInt(4 * MiB));
    expect(s.global).toBe(BigInt(4 * MiB));
    // A lowmem share equal to the total share leaves global 0 (no u64 wrap from rounding any more).
    const all = { belowLowLimit: 10 * MiB + 1, total: 10 * MiB + 1, perNode: {} };
    expect(scratchSizes(DEFAULT_SCRATCH_PARAMS, all, [], 2 * MiB).global).toBe(0n);
  });

  it("explicit sizes are rounded up too; the alignment is CMA_MIN_ALIGNMENT_BYTES, one pageblock", () => {
    const params = { scale: 0, lowmem: 1n, global: BigInt(5 * MiB), pernode: 0n };
    for (const [pageSize, align] of [
      [4096, 2 * MiB],
      [16384, 32 * MiB],
      [65536, 512 * MiB],
    ] as const) {
      const mem = new PhysMem(pageSize, [{ start: 0, size: 4 * GiB, nid: 0 }]);
      expect(scratchAlignment(mem)).toBe(align);
      const s = scratchSizes(params, reserved, [0], scratchAlignment(mem));
      expect([s.lowmem, s.global, s.nodes[0]!.size]).toEqual([
        BigInt(align),
        BigInt(Math.ceil((5 * MiB) / align) * align),
        0n,
      ]);
    }
  });
});

describe("scratch reservation on a cold boot", () => {
  function twoNodes(pageSize = 4096) {
    return new PhysMem(pageSize, [
      { start: 0, size: 6 * GiB, nid: 0 },
      { start: 6 * GiB, size: 6 * GiB, nid: 1 },
    ]);
  }
  const reserved = { belowLowLimit: 40 * MiB, total: 100 * MiB, perNode: { 0: 70 * MiB, 1: 30 * MiB } };

  it("a 2-node machine gets [lowmem, global, node 0, node 1], top-down, aligned, and the array in memory", () => {
    const mem = twoNodes();
    const memblock = new SimMemblock(mem, [{ start: 16 * MiB, size: 64 * MiB }]);
    const log: string[] = [];
    const r = reserveScratch(mem, memblock, { params: DEFAULT_SCRATCH_PARAMS, reserved, log: (l) => log.push(l) });
    expect(log).toEqual([]);
    expect(r).not.toBeNull();
    const { arrayPa, areas } = r!;
    expect(arrayPa).toBe(12 * GiB - 4096);
    expect(areas).toEqual([
      // Below ARCH_LOW_ADDRESS_LIMIT (exclusive 0xffffffff): the last aligned 2 MiB below 4 GiB cannot be used.
      { addr: 4 * GiB - 2 * MiB - 80 * MiB, size: 80 * MiB },
      // The array's page at the top of memory pushes global down one 2 MiB pageblock.
      { addr: 12 * GiB - 2 * MiB - 120 * MiB, size: 120 * MiB },
      { addr: 6 * GiB - 140 * MiB, size: 140 * MiB },
      { addr: 12 * GiB - 122 * MiB - 60 * MiB, size: 60 * MiB },
    ]);
    for (const a of areas) expect(a.addr % (2 * MiB)).toBe(0);
    expect(areas[0]!.addr + areas[0]!.size).toBeLessThanOrEqual(X86_LOW_ADDRESS_LIMIT);
    expect(mem.nidOf(areas[2]!.addr / 4096)).toBe(0);
    expect(mem.nidOf(areas[3]!.addr / 4096)).toBe(1);
    expect(decodeScratchArray(mem.read(arrayPa, 4 * kho_scratch.size))).toEqual(areas);
    for (const a of [...areas, { addr: arrayPa, size: 4 * kho_scratch.size }]) {
      expect(memblock.reservations().some((r) => r.start <= a.addr && a.addr + a.size <= r.start + r.size)).toBe(true);
    }
  });

  it("a node too small for its area frees everything, logs why and disables KHO", () => {
    const mem = twoNodes();
    const memblock = new SimMemblock(mem, [{ start: 16 * MiB, size: 64 * MiB }]);
    const before = memblock.reservations();
    const log: string[] = [];
    const huge = { ...reserved, perNode: { 0: 70 * MiB, 1: 4 * GiB } };
    expect(
      reserveScratch(mem, memblock, { params: DEFAULT_SCRATCH_PARAMS, reserved: huge, log: (l) => log.push(l) }),
    ).toBeNull();
    expect(log).toEqual([
      "Failed to reserve nid 1 scratch buffer",
      "Failed to reserve scratch area, disabling kexec handover",
    ]);
    expect(memblock.reservations()).toEqual(before);
  });

  it("no room below the low limit fails the lowmem area first", () => {
    const mem = new PhysMem(4096, [
      { start: 0, size: 64 * MiB, nid: 0 },
      { start: 4 * GiB, size: 4 * GiB, nid: 0 },
    ]);
    const memblock = new SimMemblock(mem);
    const log: string[] = [];
    const params = { scale: 0, lowmem: BigInt(128 * MiB), global: BigInt(MiB), pernode: 0n };
    expect(reserveScratch(mem, memblock, { params, reserved, log: (l) => log.push(l) })).toBeNull();
    expect(log).toEqual([
      "Failed to reserve lowmem scratch buffer",
      "Failed to reserve scratch area, disabling kexec handover",
    ]);
    expect(memblock.reservations()).toEqual([]);
    // A lower alignment and a different low limit are parameters.
    const r = reserveScratch(mem, memblock, {
      params: { ...params, lowmem: BigInt(32 * MiB) },
      reserved,
      alignment: 2 * MiB,
      lowLimit: 64 * MiB,
    });
    expect(r!.areas[0]).toEqual({ addr: 32 * MiB, size: 32 * MiB });
  });
});

describe("scratch array encoding and inheritance", () => {
  const areas = [
    { addr: 0xfac00000, size: 80 * MiB },
    { addr: 0x2f8400000, size: 120 * MiB },
  ];

  it("encodes struct kho_scratch back to back, little-endian", () => {
    const bytes = encodeScratchArray(areas);
    expect(bytes.length).toBe(2 * kho_scratch.size);
    expect(kho_scratch.decode(bytes.subarray(kho_scratch.size))).toEqual({
      addr: 0x2f8400000n,
      size: BigInt(120 * MiB),
    });
    expect(bytes[0]).toBe(0x00);
    expect(bytes[3]).toBe(0xfa);
    expect(decodeScratchArray(bytes)).toEqual(areas);
  });

  it("an inherited array has len / 16 entries; trailing bytes are ignored; areas must be RAM", () => {
    const mem = new PhysMem(4096, [{ start: 0, size: 16 * GiB, nid: 0 }]);
    mem.write(0x1000, encodeScratchArray(areas));
    const at = (len: number) => readInheritedScratch(mem, mem.read(0x1000, len));
    expect(at(2 * kho_scratch.size + 7)).toEqual(areas);
    expect(at(kho_scratch.size + 15)).toEqual(areas.slice(0, 1));
    mem.write(0x1000, encodeScratchArray([areas[0]!, { addr: 16 * GiB - MiB, size: 2 * MiB }]));
    expect(() => at(2 * kho_scratch.size)).toThrowError(/kho_scratch\[1\]/);
    mem.writeU64(0x1000 + kho_scratch.offsetOf("size"), 2n ** 60n);
    expect(() => at(kho_scratch.size)).toThrowError(/beyond 53-bit/);
  });
});
