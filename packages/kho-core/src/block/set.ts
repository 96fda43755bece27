import { KhoError } from "../errors.js";
import { hex } from "../units.js";
import type { BlockBackend, LogSink } from "./backend.js";
import {
  BLOCK_HEADER_SIZE,
  readBlockCount,
  readBlockHeader,
  readBlockNext,
  writeBlockCount,
  writeBlockNext,
} from "./header.js";

/**
 * Most blocks one set may hold. It bounds what a corrupted chain from the
 * previous kernel can make the next one walk and adopt.
 */
export const KHO_MAX_BLOCKS = 10000;

export interface KhoBlockSetOptions {
  /** Receives the lines the kernel prints (pr_err, pr_warn, WARN); no prefix is added. */
  readonly log?: LogSink;
}

/**
 * A cursor over a block set, as the kernel's kho_block_set_it. Slots are
 * returned as physical addresses. It stays valid while the set grows; after
 * the set drops the block it stands on, using it is an EINVAL error (the
 * kernel would touch freed memory).
 */
export interface KhoBlockSetIterator {
  /** Hands out the next free slot for writing and records it in its block's count; null when the set is full. */
  reserveEntry(): number | null;
  /** The next slot holding an entry, following each block's stored count; null after the last. */
  readEntry(): number | null;
  /** Steps back one slot (into the previous block's last slot if needed); counts are not lowered. */
  prev(): number | null;
}

/**
 * A KHO serialization block set: one-page blocks of fixed-size entries,
 * linked through a physical `next` pointer in each block's header, so the
 * next kernel can walk them from a single head address. The simulator keeps
 * the block list on the host side (as the kernel keeps `struct kho_block`
 * in ordinary memory); `next` and `count` live in the pages themselves.
 */
export class KhoBlockSet {
  /** Bytes per entry, fixed for the set. */
  readonly entrySize: number;
  /** Entries one block holds: what fits in a page after the header. */
  readonly countPerBlock: number;
  /** One page: every block is a separately preserved order-0 folio. */
  readonly blockSize: number;
  readonly #backend: BlockBackend;
  readonly #log: LogSink;
  #blocks: number[] = [];
  #headPa = 0;
  #incoming = false;

  constructor(backend: BlockBackend, entrySize: number, opts: KhoBlockSetOptions = {}) {
    this.#backend = backend;
    this.#log = opts.log ?? (() => {});
    this.blockSize = backend.mem.pageSize;
    if (!Number.isSafeInteger(entrySize) || entrySize < 1)
      throw new KhoError("EINVAL", `bad block entry size ${entrySize}`);
    this.entrySize = entrySize;
    this.countPerBlock = Math.floor((this.blockSize - BLOCK_HEADER_SIZE) / entrySize);
    // The kernel only warns here and would then grow blocks that hold
    // nothing until the block limit; refusing the set up front is clearer.
    if (this.countPerBlock === 0) {
      throw new KhoError(
        "EINVAL",
        `a ${entrySize}-byte entry does not fit a ${this.blockSize}-byte block after its header`,
      );
    }
  }

  /** Physical address of the first block header, 0 when there is none. */
  get headPa(): number {
    return this.#headPa;
  }

  /** Block addresses in chain order. */
  get blocks(): readonly number[] {
    return this.#blocks;
  }

  get nblocks(): number {
    return this.#blocks.length;
  }

  get isEmpty(): boolean {
    return this.#blocks.length === 0;
  }

  /** True once `restore` ran: the blocks came from the previous kernel. */
  get incoming(): boolean {
    return this.#incoming;
  }

  /**
   * Adds blocks until `count` entries fit. On failure every block this call
   * added is freed again and the error is rethrown (ENOMEM or E2BIG from
   * the allocation, ENOSPC at the block limit). An incoming set cannot grow.
   */
  grow(count: number): void {
    checkCount(count);
    if (this.#incoming) {
      this.#log("WARNING: at kernel/liveupdate/kho_block.c kho_block_set_grow", "warn");
      throw new KhoError("EINVAL", "a block set restored from the previous kernel cannot grow");
    }
    const before = this.#blocks.length;
    while (count > this.#blocks.length * this.countPerBlock) {
      try {
        this.#growOne();
      } catch (e) {
        while (this.#blocks.length > before) this.#shrinkOne();
        throw e;
      }
    }
  }

  /**
   * Frees tail blocks that `count` entries do not need, leaving
   * ceil(count / countPerBlock) blocks. Entries must have been removed
   * from the end: a freed block takes its entries with it.
   */
  shrink(count: number): void {
    checkCount(count);
    while (this.#blocks.length > 0 && count <= (this.#blocks.length - 1) * this.countPerBlock) this.#shrinkOne();
  }

  /** Sets every block's count to 0 and zeroes its entries; blocks and links stay. */
  clear(): void {
    const mem = this.#backend.mem;
    for (const pa of this.#blocks) {
      writeBlockCount(mem, pa, 0);
      mem.zero(pa + BLOCK_HEADER_SIZE, this.blockSize - BLOCK_HEADER_SIZE);
    }
  }

  /** Frees every block (restore-and-free for an incoming set) and empties the set. */
  destroy(): void {
    for (const pa of this.#blocks) this.#free(pa);
    this.#blocks = [];
    this.#headPa = 0;
  }

  /**
   * Adopts the chain a previous kernel left at `headPa` (0: an empty set).
   * A cycle, or a chain longer than twice the block limit, is EINVAL and
   * nothing is freed: such a chain cannot be walked safely. A block with a
   * count of 0 or above countPerBlock is EINVAL, a block past the limit
   * ENOSPC; then every block of the chain, adopted or not, is restored and
   * freed, because nobody else will ever claim those pages.
   */
  restore(headPa: number): void {
    if (!Number.isSafeInteger(headPa) || headPa < 0) throw new KhoError("EINVAL", `bad block chain head ${headPa}`);
    this.#incoming = true;
    if (headPa === 0) return;
    this.#headPa = headPa;
    if (this.#isCyclic()) {
      this.#headPa = 0;
      this.#log("Block set is corrupted", "err");
      throw new KhoError("EINVAL", "Block set is corrupted", hex(headPa));
    }
    const mem = this.#backend.mem;
    let next = headPa;
    let failure: KhoError | undefined;
    while (next !== 0) {
      const after = readBlockNext(mem, next);
      const count = readBlockCount(mem, next);
      if (count === 0 || count > this.countPerBlock) {
        // The u64 as the kernel prints it: readBlockCount is not exact above 2^53.
        const line = `Block contains invalid entry count: ${readBlockHeader(mem, next).count}`;
        this.#log(line, "warn");
        failure = new KhoError("EINVAL", line, hex(next));
        break;
      }
      failure = this.#add(next);
      if (failure) break;
      next = after;
    }
    if (!failure) return;
    this.destroy();
    // The rest of the chain, from the block that failed, is freed too.
    while (next !== 0) {
      const after = readBlockNext(mem, next);
      this.#free(next);
      next = after;
    }
    throw failure;
  }

  /** A new iterator positioned before the first slot of the first block. */
  iterator(): KhoBlockSetIterator {
    let block = this.#blocks.length > 0 ? 0 : -1;
    let i = 0;
    const cpb = this.countPerBlock;
    const mem = this.#backend.mem;
    // Checked on every step: the kernel's iterator would follow a pointer
    // to a freed block.
    const current = (): number => {
      const pa = this.#blocks[block];
      if (pa === undefined) throw new KhoError("EINVAL", "block set iterator used after its block was freed");
      return pa;
    };
    const slot = (index: number): number => current() + BLOCK_HEADER_SIZE + index * this.entrySize;
    const isLast = () => block === this.#blocks.length - 1;
    return {
      reserveEntry: () => {
        if (block < 0) return null;
        if (i === cpb) {
          if (isLast()) return null;
          block++;
          i = 0;
        }
        const pa = slot(i++);
        writeBlockCount(mem, current(), i);
        return pa;
      },
      readEntry: () => {
        if (block < 0) return null;
        if (i === readBlockCount(mem, current())) {
          if (isLast()) return null;
          block++;
          i = 0;
        }
        return slot(i++);
      },
      prev: () => {
        if (block < 0) return null;
        current();
        if (i === 0) {
          if (block === 0) return null;
          block--;
          i = cpb;
        }
        return slot(--i);
      },
    };
  }

  #growOne(): void {
    const pa = this.#backend.allocPreserve(this.blockSize);
    const failure = this.#add(pa);
    if (failure) {
      this.#free(pa);
      throw failure;
    }
  }

  /** Appends a block and links it from the previous tail (or makes it the head). */
  #add(pa: number): KhoError | undefined {
    if (this.#blocks.length >= KHO_MAX_BLOCKS) {
      return new KhoError("ENOSPC", `block set already holds the maximum of ${KHO_MAX_BLOCKS} blocks`, hex(pa));
    }
    const last = this.#blocks.at(-1);
    this.#blocks.push(pa);
    if (last === undefined) this.#headPa = pa;
    else writeBlockNext(this.#backend.mem, last, pa);
    return undefined;
  }

  #shrinkOne(): void {
    const last = this.#blocks.pop();
    if (last === undefined) return;
    this.#free(last);
    const tail = this.#blocks.at(-1);
    if (tail === undefined) this.#headPa = 0;
    else writeBlockNext(this.#backend.mem, tail, 0);
  }

  #free(pa: number): void {
    if (this.#incoming) this.#backend.restoreFree(pa);
    else this.#backend.unpreserveFree(pa);
  }

  /**
   * Floyd's tortoise and hare from the head. The round bound makes chains
   * of more than 2 × KHO_MAX_BLOCKS blocks fail like a cycle, so a chain
   * that merely looks endless is never walked.
   */
  #isCyclic(): boolean {
    const mem = this.#backend.mem;
    const next = (pa: number) => readBlockNext(mem, pa);
    let fast = this.#headPa;
    let slow = fast;
    for (let round = 0; ; round++) {
      if (round >= KHO_MAX_BLOCKS) return true;
      const one = next(fast);
      if (one === 0) return false;
      const two = next(one);
      if (two === 0) return false;
      fast = two;
      slow = next(slow);
      if (slow === fast) return true;
    }
  }
}

function checkCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) throw new KhoError("EINVAL", `bad entry count ${count}`);
}
