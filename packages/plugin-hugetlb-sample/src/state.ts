import { KhoError } from "@khosim/kho-core";
import type { PageAllocator, PhysMem } from "@khosim/kho-core/mem";
import { HUGETLB_SAMPLE_FOLIO_PINNED, HUGETLB_SAMPLE_NODE_NAME } from "./abi/index.js";
import { type ContentCheck, fillFolios, verifyFolios } from "./contents.js";
import { type HugeFolio, HugetlbPools } from "./pool.js";
import type { Serialized } from "./serialize.js";

/** What this kernel got from the previous one. */
export interface IncomingHugetlb {
  readonly compatible: string;
  readonly folios: number;
  readonly bytes: number;
}

/** A descriptor this kernel could not read, and the memory it leaves reserved. */
export interface RefusedHugetlb {
  readonly compatible: string | null;
  /** Base pages the stable prefix says the descriptor covers; null when the blob is too short to say. */
  readonly pages: bigint | null;
}

export interface AllocateRequest {
  readonly size: number | string;
  readonly count: number;
  readonly node?: number;
  readonly owner?: bigint;
  /** Pinned for device DMA: must keep its physical address (HUGETLB_SAMPLE_FOLIO_PINNED). */
  readonly pinned?: boolean;
}

/**
 * The plugin's per-kernel state and the workload's API (through
 * `host.context(hugetlbSamplePlugin).state`): pools, and the guest-memory
 * operations a VMM would do on them. Between a successful prepare and an
 * abort the pools are frozen (EBUSY), since the descriptor lists them.
 */
export class HugetlbState {
  #attached: { readonly mem: PhysMem; readonly pools: HugetlbPools } | null = null;
  /** This kernel's blob page (0 until init, and when KHO is off). */
  serPa = 0;
  prepared: Serialized | null = null;
  incoming: IncomingHugetlb | null = null;
  refused: RefusedHugetlb | null = null;

  /** The memory and allocator of this kernel; setup calls it first thing. */
  attach(mem: PhysMem, alloc: PageAllocator): void {
    this.#attached = { mem, pools: new HugetlbPools(mem, alloc) };
  }

  private get attached(): { readonly mem: PhysMem; readonly pools: HugetlbPools } {
    if (!this.#attached) throw new KhoError("EINVAL", "hugetlb pools used before setup", HUGETLB_SAMPLE_NODE_NAME);
    return this.#attached;
  }

  get pools(): HugetlbPools {
    return this.attached.pools;
  }

  get frozen(): boolean {
    return this.prepared !== null;
  }

  allocate(req: AllocateRequest): HugeFolio[] {
    this.checkThawed();
    return this.pools.allocate(req.size, req.count, req.node ?? 0, {
      owner: req.owner ?? 0n,
      flags: req.pinned ? HUGETLB_SAMPLE_FOLIO_PINNED : 0,
    });
  }

  free(pa: number): void {
    this.checkThawed();
    this.pools.free(pa);
  }

  freeOwner(owner: bigint): number {
    this.checkThawed();
    return this.pools.freeOwner(owner);
  }

  /** Writes the seeded fill of `seed` into every folio `owner` holds; returns the bytes filled. */
  fill(owner: bigint, seed: number): number {
    return fillFolios(this.attached.mem, this.pools.ofOwner(owner), seed);
  }

  /** Checks every folio `owner` holds against the seeded fill of `seed` (no copy of the data is kept anywhere). */
  verify(owner: bigint, seed: number): ContentCheck {
    return verifyFolios(this.attached.mem, this.pools.ofOwner(owner), seed);
  }

  private checkThawed(): void {
    if (this.frozen)
      throw new KhoError("EBUSY", "the huge page pools are frozen for a kexec", HUGETLB_SAMPLE_NODE_NAME);
  }
}
