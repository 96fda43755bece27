import { crc32 } from "node:zlib";
import {
  definePlugin,
  type Folio,
  hex,
  type IncomingSubtree,
  isKhoError,
  KhoError,
  type PluginContext,
  type SubtreeVersion,
} from "@khosim/kho-core";
import { z } from "zod";
import {
  COUNTER_NODE_NAME,
  COUNTER_V1_COMPATIBLE,
  COUNTER_V2_COMPATIBLE,
  counter_ser,
  counter_ser_v2,
  counterSubtreeV1,
  counterSubtreeV2,
} from "./abi/index.js";

export * from "./abi/index.js";

/** The blob's contents whatever the version; `buf_crc32` only where the version has it. */
interface CounterBlob {
  readonly count: bigint;
  readonly buf_pa: bigint;
  readonly buf_len: number;
  readonly buf_crc32?: number;
}

/**
 * One version seen through the blob's common contents: the typed versions
 * decode and encode, this adds what differs between them (the compatible
 * slot each writes, the checksum only v2 has).
 */
interface Codec {
  readonly size: number;
  read(bytes: Uint8Array): CounterBlob;
  encode(blob: CounterBlob): Uint8Array;
}

const codecs: Readonly<Record<string, Codec>> = {
  [COUNTER_V1_COMPATIBLE]: {
    size: counter_ser.size,
    read: (bytes) => counterSubtreeV1.decode(bytes),
    encode: (b) =>
      counterSubtreeV1.encode({
        compatible: COUNTER_V1_COMPATIBLE,
        count: b.count,
        buf_pa: b.buf_pa,
        buf_len: b.buf_len,
      }),
  },
  [COUNTER_V2_COMPATIBLE]: {
    size: counter_ser_v2.size,
    read: (bytes) => counterSubtreeV2.decode(bytes),
    encode: (b) =>
      counterSubtreeV2.encode({
        compatible: COUNTER_V2_COMPATIBLE,
        count: b.count,
        buf_pa: b.buf_pa,
        buf_len: b.buf_len,
        buf_crc32: b.buf_crc32 ?? 0,
      }),
  },
};

function codecOf(v: SubtreeVersion): { compatible: string; codec: Codec } {
  const compatible = v.abi.compatible[0]!;
  const codec = codecs[compatible];
  // composeKernel only lets a kernel pin versions the plugin declares, so this is a bug in this file.
  if (!codec) throw new KhoError("EINVAL", `no codec for ${compatible}`, COUNTER_NODE_NAME);
  return { compatible, codec };
}

/** What the previous kernel handed over, held until `finish` or a claim. */
export interface IncomingCounter {
  readonly compatible: string;
  /** The blob page: preserved, read in place, freed at finish. */
  readonly serPa: number;
  /** The buffer folio, restored (this kernel's memory now); null for an empty buffer or before it was restored. */
  folio: Folio | null;
  /** The workload took the folio: finish leaves it alone. */
  claimed: boolean;
  /** finish ran. */
  released: boolean;
}

/** What the last successful prepare did, so abort can undo exactly that. */
interface Prepared {
  readonly bufPa: number;
  readonly bufOrder: number;
  /** The blob bytes before prepare wrote them. */
  readonly savedBlob: Uint8Array;
}

const U64_BITS = 64;

/**
 * The plugin's per-kernel state, and the API a workload calls through
 * `host.context(counterPlugin).state`. The live counter and buffer are
 * ordinary kernel data; only prepare copies them into preserved memory.
 */
export class CounterState {
  #count = 0n;
  #buffer: Uint8Array = new Uint8Array(0);
  /** Set by a successful prepare; cleared by abort. A frozen counter refuses changes (EBUSY). */
  frozen = false;
  /** This kernel's blob (0 until init, and when KHO is off). */
  serPa = 0;
  /** The compatible string this kernel writes (null until init). */
  writes: string | null = null;
  prepared: Prepared | null = null;
  incoming: IncomingCounter | null = null;

  get count(): bigint {
    return this.#count;
  }

  /** Adds `by` (default 1) modulo 2^64, as a u64 `+=` does; returns the new count. */
  increment(by = 1n): bigint {
    this.checkThawed();
    this.#count = BigInt.asUintN(U64_BITS, this.#count + by);
    return this.#count;
  }

  /** Replaces the buffer (text as UTF-8). Its size is checked at prepare, where it must fit one folio. */
  write(data: string | Uint8Array): void {
    this.checkThawed();
    this.#buffer = typeof data === "string" ? new TextEncoder().encode(data) : data.slice();
  }

  /** A copy of the buffer. */
  bytes(): Uint8Array {
    return this.#buffer.slice();
  }

  /** The buffer as UTF-8 text (invalid sequences become U+FFFD). */
  text(): string {
    return new TextDecoder().decode(this.#buffer);
  }

  /**
   * Takes the restored buffer folio: the caller now owns it (and frees it
   * with its allocator); finish will not. Null when there is none, or
   * finish already released it.
   */
  claimBuffer(): Folio | null {
    const inc = this.incoming;
    if (!inc?.folio || inc.claimed || inc.released) return null;
    inc.claimed = true;
    return inc.folio;
  }

  /** restore's only way in: both values at once, after every check passed. */
  adopt(count: bigint, buffer: Uint8Array): void {
    this.#count = count;
    this.#buffer = buffer;
  }

  private checkThawed(): void {
    if (this.frozen) throw new KhoError("EBUSY", "the counter is frozen for a kexec", COUNTER_NODE_NAME);
  }
}

type Ctx = PluginContext<CounterState>;

/** A u64 address as a number, or ERANGE: physical addresses fit 52 bits. */
function physNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new KhoError("ERANGE", `${what} ${hex(v)} is not a physical address`, COUNTER_NODE_NAME);
  return Number(v);
}

/**
 * Reads an accepted blob. Every check runs before the state changes, so a
 * rejected blob leaves the count at 0 and the buffer empty (the host
 * reports the subtree lost with the error's message). What was restored
 * before a failure is recorded in `incoming` for finish to free.
 */
function restore(ctx: Ctx, sub: IncomingSubtree): void {
  const kin = ctx.khoIn!; // restore only runs on a KHO boot
  const inc: IncomingCounter = {
    compatible: sub.compatible,
    serPa: sub.phys,
    folio: null,
    claimed: false,
    released: false,
  };
  ctx.state.incoming = inc;
  const { compatible, codec } = codecOf(sub.version);
  if (sub.size !== codec.size)
    throw new KhoError("EINVAL", `blob-size ${sub.size}, ${compatible} is ${codec.size} bytes`, hex(sub.phys));
  const blob = codec.read(ctx.mem.read(sub.phys, codec.size));
  const bufPa = physNumber(blob.buf_pa, "buf_pa");
  let bytes: Uint8Array = new Uint8Array(0);
  if (blob.buf_len === 0) {
    if (bufPa !== 0) throw new KhoError("EINVAL", `empty buffer with buf_pa ${hex(bufPa)}`, hex(sub.phys));
  } else {
    if (bufPa === 0) throw new KhoError("EINVAL", `${blob.buf_len}-byte buffer without buf_pa`, hex(sub.phys));
    const folio = kin.restoreFolio(bufPa);
    if (!folio) throw new KhoError("ENOENT", `buffer at ${hex(bufPa)} is not a preserved folio`, hex(bufPa));
    inc.folio = folio;
    if (folio.pa !== bufPa)
      throw new KhoError("EINVAL", `buf_pa ${hex(bufPa)} is not the head of its folio ${hex(folio.pa)}`, hex(bufPa));
    // Bounds before reading: buf_len comes from the old kernel and is trusted only up to the folio's size.
    const capacity = ctx.kernel.pageSize * 2 ** folio.order;
    if (blob.buf_len > capacity)
      throw new KhoError(
        "ERANGE",
        `buf_len ${blob.buf_len} exceeds its order-${folio.order} folio (${capacity} bytes)`,
        hex(bufPa),
      );
    bytes = ctx.mem.read(bufPa, blob.buf_len);
    if (blob.buf_crc32 !== undefined && crc32(bytes) !== blob.buf_crc32)
      throw new KhoError(
        "EPROTO",
        `buffer crc32 ${hex(crc32(bytes))} does not match the blob's ${hex(blob.buf_crc32)}`,
        hex(bufPa),
      );
  }
  ctx.state.adopt(blob.count, bytes);
  ctx.verified(codec.size + bytes.length);
  const crc = blob.buf_crc32 === undefined ? "" : ", crc32 ok";
  ctx.log.info(`restored count ${blob.count} and a ${bytes.length}-byte buffer from ${compatible}${crc}`);
}

/**
 * A counter and a buffer that survive kexec: the example of a plugin
 * written against `@khosim/kho-core`'s public entry only.
 *
 * The count is handed over unchanged (not count+1): it counts what the
 * workload counted, and kexecs are kexec-metadata's business.
 *
 * Versions: `counter-v1` is written by default (the first declared); a
 * kernel pinned to `{ write: "counter-v2", accept: ["counter-v2",
 * "counter-v1"] }` upgrades a v1 blob on its way through. v1 stays the
 * default so a kernel that can only read v1 can always be the next one,
 * until a fleet opts into v2 by pinning.
 */
export const counterPlugin = definePlugin({
  name: "counter",
  logPrefix: "counter: ",
  subtrees: [counterSubtreeV1, counterSubtreeV2],
  state: () => new CounterState(),
  /** What a scenario may do with the counter: `{ "action": "counter.increment", "args": { "by": 2 } }`. */
  actions: {
    increment: {
      summary: "add `by` (default 1) to the counter",
      args: z.strictObject({ by: z.number().int().nonnegative().default(1) }),
      run: (ctx, { by }) => void ctx.state.increment(BigInt(by)),
    },
    write: {
      summary: "replace the buffer with `text` (UTF-8)",
      args: z.strictObject({ text: z.string() }),
      run: (ctx, { text }) => ctx.state.write(text),
    },
    stamp: {
      summary: "increment, then write a note naming the running kernel, its generation and the count",
      args: z.strictObject({}),
      run(ctx) {
        const count = ctx.state.increment();
        ctx.state.write(`written by ${ctx.kernel.release} (generation ${ctx.kernel.generation}), count ${count}`);
      },
    },
  },
  outgoing: {
    /**
     * At late_initcall, after kho_init has finished (so on a cold boot the
     * node is not in out/fdt's debugfs length): the blob page is preserved
     * and listed now (zeroed) so the root FDT holds the node from boot on;
     * prepare fills it. With KHO off there is nothing to list.
     */
    init(ctx) {
      if (!ctx.khoEnabled) return;
      const { compatible, codec } = codecOf(ctx.writer(COUNTER_NODE_NAME));
      const pa = ctx.kho.allocPreserve(codec.size);
      try {
        ctx.kho.addSubtree(COUNTER_NODE_NAME, pa, codec.size);
      } catch (e) {
        if (isKhoError(e)) ctx.kho.unpreserveFree(pa);
        throw e;
      }
      ctx.state.serPa = pa;
      ctx.state.writes = compatible;
    },
    /**
     * Copies the buffer into a freshly preserved folio and writes the blob.
     * A buffer no single folio can hold fails kho_alloc_preserve (E2BIG),
     * which aborts the kexec; nothing is left preserved or written then.
     */
    prepare(ctx) {
      const st = ctx.state;
      if (st.serPa === 0) {
        ctx.log.warn("KHO is off: the counter does not survive this kexec");
        return;
      }
      const { compatible, codec } = codecOf(ctx.writer(COUNTER_NODE_NAME));
      const buffer = st.bytes();
      const bufPa = buffer.length ? ctx.kho.allocPreserve(buffer.length) : 0;
      const bufOrder = bufPa ? ctx.alloc.orderOf(bufPa)! : 0;
      const savedBlob = ctx.mem.read(st.serPa, codec.size);
      try {
        if (bufPa) ctx.mem.write(bufPa, buffer);
        ctx.mem.write(
          st.serPa,
          codec.encode({ count: st.count, buf_pa: BigInt(bufPa), buf_len: buffer.length, buf_crc32: crc32(buffer) }),
        );
      } catch (e) {
        ctx.mem.write(st.serPa, savedBlob);
        if (bufPa) ctx.kho.unpreserveFree(bufPa);
        throw e;
      }
      st.prepared = { bufPa, bufOrder, savedBlob };
      st.frozen = true;
      const where = bufPa ? ` in an order-${bufOrder} folio at ${hex(bufPa)}` : "";
      ctx.log.info(`handing over count ${st.count} and ${buffer.length} bytes${where} as ${compatible}`);
    },
    /**
     * A later plugin's prepare failed: the blob gets its old bytes back, the
     * folio is scrubbed, unpreserved and freed, the counter thaws.
     */
    abort(ctx) {
      const st = ctx.state;
      const p = st.prepared;
      if (!p) return;
      ctx.mem.write(st.serPa, p.savedBlob);
      if (p.bufPa) {
        // Zeroed as allocation found it, so the copy does not outlive the aborted kexec in free memory.
        ctx.mem.zero(p.bufPa, ctx.kernel.pageSize * 2 ** p.bufOrder);
        ctx.kho.unpreserveFree(p.bufPa);
      }
      st.prepared = null;
      st.frozen = false;
      ctx.log.info("kexec aborted: buffer folio released, counter thawed");
    },
  },
  incoming: {
    restore,
    /**
     * Not misread: the count restarts at 0 and the old blob's pages stay
     * reserved (the report lists them as refused).
     */
    refused(ctx, sub) {
      ctx.log.warn(
        `refusing ${sub.compatible ?? "an unidentifiable blob"} at ${hex(sub.phys)} ` +
          `(this kernel accepts ${sub.accepted.join(", ")}); the counter starts from 0`,
      );
    },
    /**
     * The workload is done with the handover: the blob page (preserved,
     * never restored) goes back with kho_restore_free; the buffer folio,
     * already restored, with the page allocator unless the workload
     * claimed it.
     */
    finish(ctx) {
      const inc = ctx.state.incoming;
      if (!inc || inc.released) return;
      inc.released = true;
      ctx.khoIn?.restoreFree(inc.serPa);
      const freeFolio = inc.folio !== null && !inc.claimed;
      if (freeFolio) ctx.alloc.freeBlock(inc.folio!.pa, inc.folio!.order);
      ctx.log.info(
        `released the ${inc.compatible} blob${freeFolio ? " and the buffer folio" : ""}` +
          `${inc.claimed ? " (buffer folio claimed)" : ""}`,
      );
    },
  },
});

/** What `kho --plugin` and `kho.config.json` load from this package (docs/writing-a-plugin.md, "Loading"). */
export const plugins = [counterPlugin];
