import { expect } from "vitest";
import { type Errno, KhoError } from "../../src/errors.js";
import { type Kernel, Machine, type MachineSpec } from "../../src/kexec/index.js";
import type { Folio, KhoIn, KhoOut } from "../../src/kho/index.js";

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** `(KHO_PAGE_MAGIC << 32) | order`: page->private of a stamped head page. */
export function stamp(order: number): bigint {
  return (0x4b484f50n << 32n) | BigInt(order);
}

/** A two-node machine of the given page size (4 GiB per node, room for 512 MiB scratch alignment). */
export function machineSpec(pageSize: number): MachineSpec {
  return {
    pageSize,
    ram: [
      { start: 0, size: 4 * GiB, nid: 0 },
      { start: 4 * GiB, size: 4 * GiB, nid: 1 },
    ],
  };
}

/** A machine cold-booted into kernel "A" with KHO on. */
export function coldBoot(
  spec: MachineSpec = machineSpec(4096),
  release = "A",
): { machine: Machine; k: Kernel; out: KhoOut } {
  const machine = new Machine(spec);
  const k = machine.boot({ release });
  return { machine, k, out: outOf(k) };
}

export function outOf(k: Kernel): KhoOut {
  if (!k.out) throw new Error(`kernel ${k.release} has no outgoing KHO`);
  return k.out;
}

export function inOf(k: Kernel): KhoIn {
  if (!k.in) throw new Error(`kernel ${k.release} did not receive a KHO handover`);
  return k.in;
}

/** Asserts `fn` throws a KhoError with `code` and returns it. */
export function expectKhoError(fn: () => unknown, code: Errno): KhoError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(KhoError);
  const err = caught as KhoError;
  expect(err.code).toBe(code);
  return err;
}

/**
 * xorshift32: a small seeded generator so every run writes the same bytes
 * (the kernel test uses get_random_bytes; only reproducibility matters here).
 */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** Uniform in [0, n) for n <= 2^32 (modulo bias is irrelevant for tests). */
  below(n: number): number {
    return this.u32() % n;
  }
  fill(buf: Uint8Array): void {
    const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
    for (let i = 0; i < words.length; i++) words[i] = this.u32();
    for (let i = words.length * 4; i < buf.length; i++) buf[i] = this.u32() & 0xff;
  }
}

/**
 * A running Internet checksum in the spirit of csum_partial: 16-bit
 * little-endian words added with end-around carry into a 32-bit
 * accumulator. Buffers here always have even length, so feeding them one
 * after another equals feeding their concatenation.
 */
export function csumPartial(buf: Uint8Array, sum: number): number {
  let s = sum >>> 0;
  const n = buf.length & ~1;
  // Add in batches below 2^16 words so the float sum stays exact, then fold.
  for (let i = 0; i < n; ) {
    const stop = Math.min(n, i + 2 * 32768);
    let acc = 0;
    for (; i < stop; i += 2) acc += buf[i]! | (buf[i + 1]! << 8);
    s += acc;
    while (s > 0xffffffff) s = (s % 0x100000000) + Math.floor(s / 0x100000000);
  }
  if (buf.length & 1) s += buf[buf.length - 1]!;
  while (s > 0xffffffff) s = (s % 0x100000000) + Math.floor(s / 0x100000000);
  return s >>> 0;
}

/** Fills a folio with seeded bytes through simulated memory; returns what was written. */
export function fillFolio(k: Kernel, f: Folio, rng: Rng): Uint8Array {
  const bytes = new Uint8Array(k.mem.pageSize * 2 ** f.order);
  rng.fill(bytes);
  k.mem.write(f.pa, bytes);
  return bytes;
}

/**
 * Claims a block at a chosen address for the running kernel, as if the
 * page allocator had handed it out: every page must be free (not scratch,
 * not the image, not already allocated). Returns false when it is not.
 */
export function claimBlock(k: Kernel, pfn: number, order: number): boolean {
  const ps = k.mem.pageSize;
  const n = 2 ** order;
  if (!k.mem.pfnValid(pfn) || !k.mem.pfnValid(pfn + n - 1)) return false;
  for (let i = 0; i < n; i++) if (!k.alloc.isFree((pfn + i) * ps)) return false;
  k.alloc.adopt(pfn * ps, order);
  return true;
}

/** Keys of a tree other than `except` (e.g. the root FDT page), as "pa/order" strings. */
export function keysOf(out: KhoOut, except: readonly Folio[] = []): string[] {
  const skip = new Set(except.map((f) => `${f.pa}/${f.order}`));
  return out
    .preserved()
    .map((f) => `${f.pa}/${f.order}`)
    .filter((s) => !skip.has(s));
}

export function keyStr(pfn: number, order: number, pageSize: number): string {
  return `${pfn * pageSize}/${order}`;
}

export function be32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

export function le64(v: number): number[] {
  const out: number[] = [];
  let x = BigInt(v);
  for (let i = 0; i < 8; i++) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
  }
  return out;
}

export function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

export function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}

/** Header words of an FDT (big-endian), by name. */
export function fdtHeader(b: Uint8Array): Record<string, number> {
  const dv = new DataView(b.buffer, b.byteOffset, 40);
  const names = [
    "magic",
    "totalsize",
    "off_dt_struct",
    "off_dt_strings",
    "off_mem_rsvmap",
    "version",
    "last_comp_version",
    "boot_cpuid_phys",
    "size_dt_strings",
    "size_dt_struct",
  ];
  return Object.fromEntries(names.map((n, i) => [n, dv.getUint32(4 * i, false)]));
}

/** The root FDT as it stands: its first totalsize bytes, copied. */
export function rootFdtBytes(out: KhoOut): Uint8Array {
  const f = out.fdt;
  return f.slice(0, fdtHeader(f).totalsize!);
}

/**
 * True when an FDT is in fdt_pack() layout: rsvmap at 40, struct right after it,
 * strings right after struct, nothing after strings.
 */
export function isPacked(b: Uint8Array): boolean {
  const h = fdtHeader(b);
  return (
    h.off_mem_rsvmap === 40 &&
    h.off_dt_struct === 56 &&
    h.off_dt_strings === h.off_dt_struct! + h.size_dt_struct! &&
    h.totalsize === h.off_dt_strings! + h.size_dt_strings!
  );
}
