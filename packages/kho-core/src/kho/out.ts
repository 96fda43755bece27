import {
  KHO_FDT_BLOB_SIZE_PROP_NAME,
  KHO_FDT_COMPATIBLE,
  KHO_FDT_MEMORY_MAP_PROP_NAME,
  KHO_FDT_SUB_TREE_PROP_NAME,
  type kho_vmalloc,
} from "../abi/kexec-handover.js";
import { isKhoError, KhoError } from "../errors.js";
import { findProp, subnodes } from "../fdt/ro.js";
import { FdtRw } from "../fdt/rw.js";
import { FdtSw, u64le } from "../fdt/sw.js";
import type { ScopedLog } from "../log.js";
import type { PageAllocator } from "../mem/alloc.js";
import { getOrder } from "../mem/geometry.js";
import { PfnBytes } from "../mem/pfn-bytes.js";
import type { PhysMem } from "../mem/phys.js";
import { KhoRadixTree } from "../radix/tree.js";
import { hex } from "../units.js";
import { propU64 } from "./prop.js";
import type { KhoScratch } from "./scratch.js";
import { splitRange } from "./split.js";
import { type Folio, VM_ALLOC, VM_ALLOW_HUGE_VMAP, type VmArea } from "./types.js";
import { chunkEntries, vmallocChunkLayout, vmFlagsToKho } from "./vmalloc.js";

/** What KHO needs from the kernel it runs in. */
export interface KhoEnv {
  readonly mem: PhysMem;
  readonly alloc: PageAllocator;
  /** The "KHO: " log. */
  readonly log: ScopedLog;
  /** CONFIG_KEXEC_HANDOVER_DEBUG: preservations overlapping scratch are refused. */
  readonly debug: boolean;
  readonly scratch: readonly KhoScratch[];
  /** A kernel built before d64b0372760e writes its tree with the old depth too (16 KiB pages: 4). */
  readonly legacyRadixDepth?: boolean;
}

/** The decoded `struct kho_vmalloc` a preservation hands back to its caller. */
export type KhoVmalloc = ReturnType<typeof kho_vmalloc.decode>;

/** A debugfs blob under kho/out/sub_fdts: the name and what it shows. */
export interface DebugfsBlob {
  readonly pa: number;
  readonly size: number;
}

/**
 * The outgoing side of KHO in one kernel (`kho_out`): the radix tree of
 * preserved pages and the root FDT listing the subtrees. Everything lives in
 * simulated physical memory, so what the next kernel reads is exactly what
 * was written here.
 */
export class KhoOut {
  /** kho/out/sub_fdts: one entry per subtree added and not removed. */
  readonly subFdts = new Map<string, DebugfsBlob>();
  /** Length of kho/out/fdt, fixed when the file is created (cold boot only). */
  fdtFileLength: number | null = null;
  /** Who is preserving now; recorded per key for reports ("kernel" outside plugins). */
  actor = "kernel";
  /** Who preserved each key: per order, pfn -> 1 + index in `actors` (a million keys, few actors). */
  private readonly owners: PfnBytes[] = [];
  private readonly actors: string[] = [];

  private constructor(
    private readonly env: KhoEnv,
    readonly tree: KhoRadixTree,
    readonly fdtPa: number,
  ) {}

  /**
   * kho_init()'s outgoing part: a zeroed radix root page, a preserved page
   * for the root FDT, and the FDT written with the sequential-write API.
   */
  static init(env: KhoEnv): KhoOut {
    const tree = KhoRadixTree.create(env.mem, env.alloc, {
      legacyDepth: env.legacyRadixDepth ?? false,
      warn: (why) =>
        env.log.warnOn("kernel/liveupdate/kexec_handover.c", "kho_radix_del_page", "WARN_ON(!node->table[idx])", why),
    });
    const out = new KhoOut(env, tree, 0);
    let fdtPa: number;
    try {
      fdtPa = out.allocPreserve(env.mem.pageSize);
    } catch (e) {
      env.alloc.freeBlock(tree.root, 0);
      throw e;
    }
    const ready = new KhoOut(env, tree, fdtPa);
    const sw = FdtSw.createInto(ready.fdt, env.mem.pageSize);
    sw.finishReservemap();
    sw.beginNode("");
    sw.propertyString("compatible", KHO_FDT_COMPATIBLE);
    sw.property(KHO_FDT_MEMORY_MAP_PROP_NAME, u64le(tree.root));
    sw.endNode();
    sw.finish();
    return ready;
  }

  get mem(): PhysMem {
    return this.env.mem;
  }

  /** The root FDT page, live: edits land in simulated memory. */
  get fdt(): Uint8Array {
    return this.env.mem.page(this.fdtPa / this.env.mem.pageSize);
  }

  private checkScratchOverlap(pa: number, size: number, fn: string): void {
    if (!this.env.debug) return;
    for (const s of this.env.scratch) {
      if (pa < s.addr + s.size && s.addr < pa + size) {
        this.env.log.warnOn(
          "kernel/liveupdate/kexec_handover.c",
          fn,
          "WARN_ON(kho_scratch_overlap(...))",
          `${hex(pa)}+${hex(size)} overlaps scratch ${hex(s.addr)}+${hex(s.size)}`,
        );
        throw new KhoError("EINVAL", `preservation overlaps scratch area ${hex(s.addr)}`, hex(pa));
      }
    }
  }

  /** NUMA node of a page, for the split that keeps blocks on one node. */
  private readonly nidOf = (pfn: number): number => this.env.mem.nidOf(pfn);

  private pfn(pa: number): number {
    return Math.floor(pa / this.env.mem.pageSize);
  }

  /** kho_preserve_folio: one key (pfn, order); no alignment check, no reference taken. */
  preserveFolio(folio: Folio): void {
    this.checkScratchOverlap(folio.pa, this.env.mem.pageSize * 2 ** folio.order, "kho_preserve_folio");
    this.add(this.pfn(folio.pa), folio.order);
  }

  private add(pfn: number, order: number): void {
    // The owner's id first: when there is no room for a new owner, no key is left behind.
    const owner = this.actorId();
    this.tree.addPage(pfn, order);
    let byPfn = this.owners[order];
    if (!byPfn) {
      byPfn = new PfnBytes();
      this.owners[order] = byPfn;
    }
    byPfn.set(pfn, owner);
  }

  private del(pfn: number, order: number): void {
    this.tree.delPage(pfn, order);
    this.owners[order]?.delete(pfn);
  }

  /** `actor` as a PfnBytes value; the actor of the previous call is the likely one. */
  private actorId(): number {
    let i = this.actors.lastIndexOf(this.actor);
    if (i < 0) {
      if (this.actors.length === 255)
        throw new KhoError("ENOSPC", `more than 255 plugins preserving memory: cannot record "${this.actor}"`);
      i = this.actors.push(this.actor) - 1;
    }
    return i + 1;
  }

  /** Who preserved the block (pa, order): a plugin name, or "kernel". */
  ownerOf(pa: number, order: number): string {
    return this.actors[(this.owners[order]?.get(this.pfn(pa)) ?? 0) - 1] ?? "kernel";
  }

  unpreserveFolio(folio: Folio): void {
    this.del(this.pfn(folio.pa), folio.order);
  }

  /**
   * kho_preserve_pages: the range cut into aligned blocks that never span two
   * NUMA nodes; on failure every key added by this call is removed again.
   */
  preservePages(pa: number, nrPages: number): void {
    this.checkScratchOverlap(pa, nrPages * this.env.mem.pageSize, "kho_preserve_pages");
    const added: [number, number][] = [];
    try {
      for (const [pfn, order] of splitRange(this.pfn(pa), nrPages, this.nidOf)) {
        this.add(pfn, order);
        added.push([pfn, order]);
      }
    } catch (e) {
      for (const [pfn, order] of added) this.del(pfn, order);
      throw e;
    }
  }

  /** kho_unpreserve_pages: the same NUMA-aware split as preserve (8fd2f26fa2a3). */
  unpreservePages(pa: number, nrPages: number): void {
    for (const [pfn, order] of splitRange(this.pfn(pa), nrPages, this.nidOf)) this.del(pfn, order);
  }

  /**
   * kho_alloc_preserve: a zeroed folio big enough for `size`, preserved.
   * Returns its physical address.
   */
  allocPreserve(size: number): number {
    if (size <= 0) throw new KhoError("EINVAL", "kho_alloc_preserve of 0 bytes");
    const order = getOrder(size, this.env.mem.pageShift);
    if (order > this.env.mem.maxPageOrder)
      throw new KhoError(
        "E2BIG",
        `kho_alloc_preserve(${size}) needs order ${order} > MAX_PAGE_ORDER ${this.env.mem.maxPageOrder}`,
      );
    const pa = this.env.alloc.alloc(order);
    try {
      this.preserveFolio({ pa, order });
    } catch (e) {
      this.env.alloc.freeBlock(pa, order);
      throw e;
    }
    return pa;
  }

  /** kho_unpreserve_free: unpreserve the folio allocPreserve returned and free it. */
  unpreserveFree(pa: number): void {
    const order = this.env.alloc.orderOf(pa);
    if (order === undefined)
      throw new KhoError("EINVAL", "kho_unpreserve_free of memory not allocated by kho_alloc_preserve", hex(pa));
    this.unpreserveFolio({ pa, order });
    this.env.alloc.freeBlock(pa, order);
  }

  /** Allocates a zeroed page for KHO's own metadata (get_zeroed_page). */
  private zeroedPage(): number {
    return this.env.alloc.alloc(0);
  }

  /**
   * kho_preserve_vmalloc: a chain of zeroed chunk pages (each preserved as
   * one page) listing the PA of every 2^order group; each group preserved
   * with preservePages. A chunk that fills up gets its successor at once,
   * so an exact multiple of the chunk capacity leaves an empty last chunk.
   * Any failure unpreserves everything and frees the chunks.
   */
  preserveVmalloc(area: VmArea): KhoVmalloc {
    if (area.vmFlags & ~(VM_ALLOC | VM_ALLOW_HUGE_VMAP))
      throw new KhoError("EOPNOTSUPP", `vmalloc flags ${hex(area.vmFlags)} cannot be preserved`);
    const layout = vmallocChunkLayout(this.env.mem.pageSize);
    const value: KhoVmalloc = { first: 0n, total_pages: 0, flags: 0, order: 0 };
    const newChunk = (prev: number | null): number => {
      const pa = this.zeroedPage();
      try {
        this.preservePages(pa, 1);
      } catch (e) {
        this.env.alloc.freeBlock(pa, 0);
        throw e;
      }
      if (prev === null) value.first = BigInt(pa);
      else this.env.mem.writeU64(layout.nextAt(prev), pa);
      return pa;
    };
    try {
      let cur = newChunk(null);
      let idx = 0;
      const group = 2 ** area.order;
      for (let i = 0; i < area.nrPages; i += group) {
        const pa = area.pages[i]!;
        this.preservePages(pa, group);
        this.env.mem.writeU64(layout.slotAt(cur, idx++), pa);
        if (idx === layout.capacity) {
          cur = newChunk(cur);
          idx = 0;
        }
      }
    } catch (e) {
      if (isKhoError(e)) this.unpreserveVmalloc({ ...value, order: area.order });
      throw e;
    }
    value.total_pages = area.nrPages;
    value.flags = vmFlagsToKho(area.vmFlags);
    value.order = area.order;
    return value;
  }

  /** kho_unpreserve_vmalloc: every chunk's own page and groups unpreserved, chunks freed. */
  unpreserveVmalloc(v: KhoVmalloc): void {
    const layout = vmallocChunkLayout(this.env.mem.pageSize);
    let cur = Number(v.first);
    while (cur) {
      this.unpreservePages(cur, 1);
      for (const pa of chunkEntries(this.env.mem, layout, cur)) this.unpreservePages(pa, 2 ** v.order);
      const next = this.env.mem.readU64Number(layout.nextAt(cur));
      this.env.alloc.freeBlock(cur, 0);
      cur = next;
    }
  }

  /**
   * kho_add_subtree: open the root FDT into its page, add `name` under the
   * root with `preserved-data` then `blob-size` (so blob-size ends up
   * first), pack. libfdt failures become ENOMEM, a duplicate EEXIST; a
   * failed property write deletes the node again. Nothing is preserved here.
   */
  addSubtree(name: string, blobPa: number, size: number): void {
    const rw = this.open();
    if (!rw) throw new KhoError("ENOMEM", "root FDT cannot be opened", name);
    let err: KhoError | null = null;
    try {
      const node = rw.addSubnode(0, name);
      try {
        rw.setprop(node, KHO_FDT_SUB_TREE_PROP_NAME, u64le(blobPa));
        rw.setprop(node, KHO_FDT_BLOB_SIZE_PROP_NAME, u64le(size));
      } catch (e) {
        rw.delNode(node);
        throw e;
      }
      this.subFdts.set(name, { pa: blobPa, size });
    } catch (e) {
      if (!isKhoError(e)) throw e;
      err =
        e.code === "EEXIST"
          ? new KhoError("EEXIST", `subtree "${name}" already exists`, name)
          : new KhoError("ENOMEM", `no room for subtree "${name}" in the ${this.env.mem.pageSize}-byte root FDT`, name);
    }
    rw.pack();
    if (err) throw err;
  }

  /**
   * kho_remove_subtree: delete the first root child whose 8-byte
   * preserved-data equals `blobPa`; repack even when nothing matched.
   */
  removeSubtree(blobPa: number): void {
    const rw = this.open();
    if (!rw) return;
    for (const node of subnodes(rw.buf, 0)) {
      const p = findProp(rw.buf, node, KHO_FDT_SUB_TREE_PROP_NAME);
      if (p?.value.length !== 8) continue;
      if (propU64(p.value) === BigInt(blobPa)) {
        for (const [n, b] of this.subFdts) if (b.pa === blobPa) this.subFdts.delete(n);
        rw.delNode(node);
        break;
      }
    }
    rw.pack();
  }

  private open(): FdtRw | null {
    try {
      return FdtRw.openInto(this.fdt, this.env.mem.pageSize);
    } catch (e) {
      if (isKhoError(e)) return null;
      throw e;
    }
  }

  /** Every preserved (pa, order) in walk order. */
  preserved(): Folio[] {
    const out: Folio[] = [];
    this.tree.walk((pa, order) => {
      out.push({ pa, order });
      return 0;
    });
    return out;
  }
}
