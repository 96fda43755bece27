import type { BlockBackend, KhoIn, KhoOut, PageAllocator, PhysMem, ScopedLog } from "@khosim/kho-core";

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

/** Reads a NUL-terminated string of at most `max` bytes, as the kernel's string helpers see it. */
export function readCString(mem: PhysMem, pa: number, max: number): string {
  const raw = mem.read(pa, max);
  const end = raw.indexOf(0);
  return new TextDecoder().decode(raw.subarray(0, end < 0 ? max : end));
}

/** strscpy: at most `size - 1` bytes and a NUL; bytes after the NUL are left as they are. */
export function writeCString(mem: PhysMem, pa: number, size: number, text: string): void {
  const bytes = new TextEncoder().encode(text).subarray(0, size - 1);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  mem.write(pa, out);
}
