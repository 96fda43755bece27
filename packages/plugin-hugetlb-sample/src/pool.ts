import { hex, isKhoError, KhoError, parseSize } from "@khosim/kho-core";
import type { PageAllocator, PhysMem } from "@khosim/kho-core/mem";
import { HUGETLB_SAMPLE_FOLIO_FLAGS, HUGETLB_SAMPLE_NODE_NAME } from "./abi/index.js";

/** One huge page size of a kernel (a struct hstate): the folio order and its size in bytes. */
export interface HugePageSize {
  readonly order: number;
  readonly bytes: number;
}

/**
 * The huge page sizes of a base page size: the PMD size (one page table of
 * PTEs maps it) and, where the architecture has one, the PUD size.
 * 4 KiB: 2 MiB and 1 GiB; 16 KiB: 32 MiB and 64 GiB; 64 KiB: 512 MiB only
 * (its PUD level, 4 TiB, is no huge page size of arm64).
 */
export function hugePageSizes(pageSize: number): readonly HugePageSize[] {
  const shift = Math.log2(pageSize);
  // A page table holds pageSize / 8 entries: each level adds log2 of that to the order.
  const perLevel = shift - 3;
  const orders = pageSize === 65536 ? [perLevel] : [perLevel, 2 * perLevel];
  return orders.map((order) => ({ order, bytes: pageSize * 2 ** order }));
}

/** A huge folio in a pool: where it is, its order and node, and who holds it. */
export interface HugeFolio {
  readonly pa: number;
  readonly order: number;
  readonly node: number;
  /** The holder's token (a VMM's guest id); 0n for a free folio of the pool. */
  readonly owner: bigint;
  /** HUGETLB_SAMPLE_FOLIO_* bits. */
  readonly flags: number;
}

export interface AllocateOptions {
  readonly owner?: bigint;
  readonly flags?: number;
}

/** Per huge page size: folios in total and per node. */
export interface PoolCounts {
  readonly order: number;
  readonly bytes: number;
  readonly folios: number;
  readonly byNode: Readonly<Record<number, number>>;
}

/**
 * The huge page pools of one kernel, one per huge page size, as hugetlb's
 * hstates: folios come from the page allocator on the node asked for
 * (gigantic ones included: the kernel takes those from CMA or memblock,
 * the simulated allocator hands out any order), each with an owner token.
 */
export class HugetlbPools {
  readonly sizes: readonly HugePageSize[];
  private readonly folios = new Map<number, HugeFolio>();

  constructor(
    private readonly mem: PhysMem,
    private readonly alloc: PageAllocator,
  ) {
    this.sizes = hugePageSizes(mem.pageSize);
  }

  /** The hstate for `size` (bytes, or a size such as "2MiB"), or EINVAL naming the sizes there are. */
  sizeOf(size: number | string): HugePageSize {
    const bytes = parseSize(size, "huge page size");
    const s = this.sizes.find((x) => x.bytes === bytes);
    if (!s) {
      const known = this.sizes.map((x) => hex(x.bytes)).join(", ");
      throw new KhoError("EINVAL", `no ${hex(bytes)}-byte huge pages with ${this.mem.pageSize}-byte pages (${known})`);
    }
    return s;
  }

  /**
   * `count` fresh folios of `size` on `node`, all or none: when the node
   * runs out, the ones taken by this call go back and ENOMEM is thrown.
   */
  allocate(size: number | string, count: number, node: number, opts: AllocateOptions = {}): HugeFolio[] {
    const { order } = this.sizeOf(size);
    const owner = opts.owner ?? 0n;
    const flags = opts.flags ?? 0;
    if (!Number.isSafeInteger(count) || count < 1) throw new KhoError("EINVAL", `bad folio count ${count}`);
    if (!this.mem.nodes.includes(node)) throw new KhoError("EINVAL", `node ${node} has no memory`);
    if (owner < 0n || owner >= 1n << 64n) throw new KhoError("ERANGE", `owner token ${owner} is not a u64`);
    if (!Number.isInteger(flags) || flags & ~HUGETLB_SAMPLE_FOLIO_FLAGS)
      throw new KhoError("EINVAL", `unknown folio flags ${hex(flags)}`);
    const got: HugeFolio[] = [];
    try {
      for (let i = 0; i < count; i++)
        got.push({ pa: this.alloc.alloc(order, { nid: node }), order, node, owner, flags });
    } catch (e) {
      for (const f of got) this.alloc.freeBlock(f.pa, f.order);
      if (isKhoError(e, "ENOMEM"))
        throw new KhoError("ENOMEM", `${count} folios of order ${order} on node ${node}: only ${got.length} free`);
      throw e;
    }
    for (const f of got) this.folios.set(f.pa, f);
    return got;
  }

  /** Gives a folio back to the page allocator. */
  free(pa: number): void {
    const f = this.get(pa);
    this.folios.delete(pa);
    this.alloc.freeBlock(f.pa, f.order);
  }

  /** Frees every folio `owner` holds; returns how many. */
  freeOwner(owner: bigint): number {
    const mine = this.ofOwner(owner);
    for (const f of mine) this.free(f.pa);
    return mine.length;
  }

  get(pa: number): HugeFolio {
    const f = this.folios.get(pa);
    if (!f) throw new KhoError("ENOENT", `no huge folio at ${hex(pa)}`, HUGETLB_SAMPLE_NODE_NAME);
    return f;
  }

  /** Every folio, ascending by address. */
  all(): HugeFolio[] {
    return [...this.folios.values()].sort((a, b) => a.pa - b.pa);
  }

  ofOwner(owner: bigint): HugeFolio[] {
    return this.all().filter((f) => f.owner === owner);
  }

  get size(): number {
    return this.folios.size;
  }

  /** Folios per huge page size and node (the kernel's nr_hugepages, per node in sysfs). */
  counts(): PoolCounts[] {
    return this.sizes.map(({ order, bytes }) => {
      const byNode: Record<number, number> = {};
      let folios = 0;
      for (const f of this.folios.values()) {
        if (f.order !== order) continue;
        folios++;
        byNode[f.node] = (byNode[f.node] ?? 0) + 1;
      }
      return { order, bytes, folios, byNode };
    });
  }

  /** Takes folios the previous kernel handed over (already restored, so this kernel's memory). */
  adopt(folios: readonly HugeFolio[]): void {
    for (const f of folios) {
      if (this.folios.has(f.pa)) throw new KhoError("EEXIST", `huge folio at ${hex(f.pa)} is already in a pool`);
      this.folios.set(f.pa, f);
    }
  }
}
