import {
  type BlockBackend,
  KhoBlockSet,
  type KhoIn,
  type KhoOut,
  type LogSink,
  type PageAllocator,
  type PhysMem,
  type ScopedLog,
} from "@khosim/kho-core";
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
function blockBackend(env: LuoEnv): BlockBackend {
  return {
    mem: env.mem,
    allocPreserve: (size) => env.kho().allocPreserve(size),
    unpreserveFree: (pa) => env.kho().unpreserveFree(pa),
    restoreFree: (pa) => env.khoIn?.restoreFree(pa),
  };
}

/** One backend and log sink per kernel, shared by its sets: a file set per session makes 100 000 of them. */
const blockSetDeps = new WeakMap<LuoEnv, { backend: BlockBackend; log: LogSink }>();

/** A block set of `entrySize`-byte entries in this kernel, logging through LUO's log. */
export function luoBlockSet(env: LuoEnv, entrySize: number): KhoBlockSet {
  let deps = blockSetDeps.get(env);
  if (!deps) {
    deps = { backend: blockBackend(env), log: (line, level) => env.log[level](line) };
    blockSetDeps.set(env, deps);
  }
  return new KhoBlockSet(deps.backend, entrySize, { log: deps.log });
}

/**
 * One codec, and one scratch buffer to encode into, for every string LUO
 * reads or writes: a million file entries cannot afford a codec or a new
 * ArrayBuffer each (a backing store per call keeps the collector busy).
 */
const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** `text` as UTF-8 in the scratch buffer: the bytes until the next call. */
function encodeScratch(text: string): Uint8Array {
  // UTF-8 takes at most 3 bytes per UTF-16 unit (a pair's 4 bytes are 2 per unit).
  if (scratch.length < 3 * text.length + 1) scratch = new Uint8Array(3 * text.length + 1);
  return scratch.subarray(0, utf8Encoder.encodeInto(text, scratch).written);
}

/** Bytes of `text` in UTF-8, as the kernel's strlen sees a name copied from userspace. */
export function utf8Length(text: string): number {
  return encodeScratch(text).length;
}

/** Reads a NUL-terminated string of at most `max` bytes, as the kernel's string helpers see it. */
export function readCString(mem: PhysMem, pa: number, max: number): string {
  const raw = slotBytes(mem, pa, max) ?? mem.read(pa, max);
  const end = raw.indexOf(0);
  return utf8Decoder.decode(raw.subarray(0, end < 0 ? max : end));
}

/** strscpy: at most `size - 1` bytes (cut between bytes, as the kernel cuts) and a NUL. */
function cutCString(text: string, size: number): Uint8Array {
  const bytes = encodeScratch(text);
  const n = Math.min(bytes.length, size - 1);
  scratch[n] = 0;
  return scratch.subarray(0, n + 1);
}

/** The bytes strscpy stores for `text` in a `size`-byte field, to keep and write many times. */
export function cStringBytes(text: string, size: number): Uint8Array {
  return cutCString(text, size).slice();
}

/** strscpy: at most `size - 1` bytes and a NUL; bytes after the NUL are left as they are. */
export function writeCString(mem: PhysMem, pa: number, size: number, text: string): void {
  const bytes = cutCString(text, size);
  const slot = slotBytes(mem, pa, bytes.length);
  if (slot) slot.set(bytes);
  else mem.write(pa, bytes);
}
