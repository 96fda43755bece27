import type { BlockBackend, KhoIn, KhoOut, PageAllocator, PhysMem, ScopedLog } from "@khosim/kho-core";
import { slotBytes } from "@khosim/kho-core/block";

/**
 * What LUO and its handlers reach in the running kernel: memory, the page
 * allocator, the outgoing KHO (from kho_init on) and the incoming one on a
 * KHO boot, and the log with LUO's pr_fmt.
 */
export interface LuoEnv {
  readonly mem: PhysMem;
  readonly alloc: PageAllocator;
  readonly log: ScopedLog;
  /** The outgoing KHO; throws when KHO is off or not initialised yet. */
  kho(): KhoOut;
  readonly khoIn: KhoIn | null;
}

/** The KHO calls a block set needs, taken from the environment when they are made. */
export function blockBackend(env: LuoEnv): BlockBackend {
  return {
    mem: env.mem,
    allocPreserve: (size) => env.kho().allocPreserve(size),
    unpreserveFree: (pa) => env.kho().unpreserveFree(pa),
    restoreFree: (pa) => env.khoIn?.restoreFree(pa),
  };
}

/** One of each for every string LUO reads or writes: a million file entries cannot make one per call. */
const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** Reads a NUL-terminated string of at most `max` bytes, as the kernel's string helpers see it. */
export function readCString(mem: PhysMem, pa: number, max: number): string {
  const raw = slotBytes(mem, pa, max) ?? mem.read(pa, max);
  const end = raw.indexOf(0);
  return utf8Decoder.decode(raw.subarray(0, end < 0 ? max : end));
}

/** A string as strscpy into a `size`-byte field stores it: at most `size - 1` bytes, then the NUL. */
export function cStringBytes(text: string, size: number): Uint8Array {
  const bytes = utf8Encoder.encode(text).subarray(0, size - 1);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** strscpy of bytes made by cStringBytes; bytes after the NUL are left as they are. */
export function writeCStringBytes(mem: PhysMem, pa: number, bytes: Uint8Array): void {
  const slot = slotBytes(mem, pa, bytes.length);
  if (slot) slot.set(bytes);
  else mem.write(pa, bytes);
}

/** strscpy: at most `size - 1` bytes and a NUL; bytes after the NUL are left as they are. */
export function writeCString(mem: PhysMem, pa: number, size: number, text: string): void {
  writeCStringBytes(mem, pa, cStringBytes(text, size));
}
