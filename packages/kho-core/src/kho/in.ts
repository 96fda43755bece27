import {
  KHO_FDT_BLOB_SIZE_PROP_NAME,
  KHO_FDT_COMPATIBLE,
  KHO_FDT_MEMORY_MAP_PROP_NAME,
  KHO_FDT_SUB_TREE_PROP_NAME,
  KHO_VMALLOC_ALLOC,
  KHO_VMALLOC_HUGE_VMAP,
} from "../abi/kexec-handover.js";
import { isKhoError, KhoError } from "../errors.js";
import { checkHeaderRc, findProp, nodeCheckCompatibleRc, subnodeOffset } from "../fdt/ro.js";
import type { ScopedLog } from "../log.js";
import type { PageAllocator } from "../mem/alloc.js";
import { PfnBytes } from "../mem/pfn-bytes.js";
import type { PhysMem } from "../mem/phys.js";
import { KhoRadixTree } from "../radix/tree.js";
import { hex } from "../units.js";
import type { KhoVmalloc } from "./out.js";
import { propU64 } from "./prop.js";
import { type KhoScratch, readInheritedScratch } from "./scratch.js";
import { splitRange } from "./split.js";
import type { Folio, VmArea } from "./types.js";
import { chunkEntries, khoFlagsToVm, vmallocChunkLayout } from "./vmalloc.js";

/** `KHO_PAGE_MAGIC`, 'KHOP', kept in the upper half of a restored head page's `private`. */
export const KHO_PAGE_MAGIC = 0x4b484f50;

/**
 * What a kexec hands the next kernel (x86 setup_data `kho_data`, or the
 * DT `/chosen` properties): the root FDT and the scratch array.
 */
export interface HandoverRecord {
  readonly fdtPa: number;
  readonly fdtSize: number;
  readonly scratchPa: number;
  readonly scratchSize: number;
}

export interface KhoInEnv {
  readonly mem: PhysMem;
  readonly alloc: PageAllocator;
  readonly log: ScopedLog;
  /** NR_FIX_BTMAPS of the kernel's architecture (earlyMapMaxPages). */
  readonly earlyMapMaxPages: number;
  readonly legacyRadixDepth?: boolean;
}

/**
 * early_memremap(): refuses a size of 0 and a span (page offset included)
 * over NR_FIX_BTMAPS pages, each with a WARN_ON splat (a wrapping range
 * cannot occur: addresses here stay below 2^53); otherwise it maps whole
 * pages, so bytes past `len` up to the page end are readable too. Returns
 * the mapped bytes from `pa` on, or null. Mapping reads nothing: a page
 * after the first that holds no handed-over memory only matters if it is
 * read, so the view ends before it; an unreadable first page throws.
 */
function earlyMemremap(env: KhoInEnv, pa: number, len: number): Uint8Array | null {
  const { mem, log } = env;
  const file = "mm/early_ioremap.c";
  if (len === 0) {
    log.warnOn(file, "__early_ioremap", "WARN_ON(!size || last_addr < phys_addr)", `size 0 at ${hex(pa)}`);
    return null;
  }
  const ps = mem.pageSize;
  const first = Math.floor(pa / ps);
  const pages = Math.ceil((pa + len) / ps) - first;
  if (pages > env.earlyMapMaxPages) {
    log.warnOn(
      file,
      "__early_ioremap",
      "WARN_ON(nrpages > NR_FIX_BTMAPS)",
      `${hex(pa)}+${hex(len)} spans ${pages} pages, NR_FIX_BTMAPS is ${env.earlyMapMaxPages}`,
    );
    return null;
  }
  // At most NR_FIX_BTMAPS pages (4 MiB with 64 KiB pages): copying them is cheap.
  const view = new Uint8Array(pages * ps);
  let readable = 0;
  for (; readable < pages; readable++) {
    try {
      view.set(mem.read((first + readable) * ps, ps), readable * ps);
    } catch (e) {
      if (readable === 0 || !isKhoError(e)) throw e;
      break;
    }
  }
  return view.subarray(pa - first * ps, readable * ps);
}

/** What the real kernel does where the simulator refuses `e`. */
function consequence(e: KhoError): string {
  return e.code === "EHWPOISON"
    ? "the v7.2-rc1 kernel would read whatever the previous kernel left there"
    : "the v7.2-rc1 kernel would fault here";
}

/** A u64 property value, read unaligned and little-endian as KHO stores it. */
function u64At(v: Uint8Array): number {
  const n = propU64(v);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/** An out-parameter, as the kernel's `phys_addr_t *phys`. */
export interface Ref<T> {
  value?: T;
}

/**
 * The incoming side of KHO in a kernel booted by a KHO kexec (`kho_in`):
 * validation of the handover, the reserve walk that stamps every preserved
 * block's head page, and the restore and retrieve calls. A failed
 * validation gives no KhoIn: the kernel boots as after a cold boot.
 */
export class KhoIn {
  /** page->private of stamped head pages: pfn -> order + 1 (magic implied). */
  private readonly stamps = new PfnBytes();
  private warnedRestore = false;
  /** The incoming radix tree's node pages: read by the walk, then free memory. */
  nodePages: readonly number[] = [];

  private constructor(
    private readonly env: KhoInEnv,
    public fdtPa: number,
    readonly scratchPa: number,
    readonly scratchLen: number,
    readonly scratch: readonly KhoScratch[],
    readonly memMapPa: number,
  ) {}

  /**
   * kho_populate(): check the FDT header, the `kho-v4` compatible and the
   * 8-byte non-zero `preserved-memory-map`, read the scratch array and
   * confine allocation to it. A failed check logs the kernel's reason and
   * "disabling KHO revival" and returns null. What the kernel does not
   * check (a record or scratch area outside RAM, memory that was not handed
   * over) is a hazard: the simulator stops there, notes it and returns null.
   */
  static populate(env: KhoInEnv, rec: HandoverRecord): KhoIn | null {
    try {
      return KhoIn.validate(env, rec);
    } catch (e) {
      // The kernel checks none of this: it would fault (or read stale memory) where the simulator cannot go on.
      if (!isKhoError(e)) throw e;
      const kernel =
        e.code === "EHWPOISON"
          ? consequence(e)
          : e.code === "EFAULT"
            ? "the v7.2-rc1 kernel maps it without a check and reads whatever answers there, or faults"
            : "the v7.2-rc1 kernel adds the area to memblock without a check and would fault allocating from it";
      env.log.hazard(`kho_populate: ${e.message}: ${kernel}`);
      env.log.note("kho_populate() stopped there: the boot continues as a cold one");
      return null;
    }
  }

  private static validate(env: KhoInEnv, rec: HandoverRecord): KhoIn | null {
    const { log } = env;
    const fail = (): null => {
      log.warn("disabling KHO revival");
      return null;
    };
    const fdt = earlyMemremap(env, rec.fdtPa, rec.fdtSize);
    if (!fdt) {
      log.warn(`setup: failed to memremap FDT (${hex(rec.fdtPa)})`);
      return fail();
    }
    const hdr = checkHeaderRc(fdt);
    if (hdr < 0) {
      log.warn(`setup: handover FDT (${hex(rec.fdtPa)}) is invalid: ${hdr}`);
      return fail();
    }
    const compat = nodeCheckCompatibleRc(fdt, 0, KHO_FDT_COMPATIBLE);
    if (compat !== 0) {
      const err = compat < 0 ? compat : 1;
      log.warn(`setup: handover FDT (${hex(rec.fdtPa)}) is incompatible with '${KHO_FDT_COMPATIBLE}': ${err}`);
      return fail();
    }
    const map = findProp(fdt, 0, KHO_FDT_MEMORY_MAP_PROP_NAME);
    const memMapPa = map && map.value.length === 8 ? u64At(map.value) : 0;
    if (!memMapPa) {
      log.err("failed to get preserved memory map");
      return fail();
    }
    const array = earlyMemremap(env, rec.scratchPa, rec.scratchSize);
    if (!array) {
      log.warn(`setup: failed to memremap scratch (phys=${hex(rec.scratchPa)}, len=${rec.scratchSize})`);
      return fail();
    }
    const scratch = readInheritedScratch(env.mem, array.subarray(0, rec.scratchSize));
    env.alloc.reserve(rec.scratchPa, rec.scratchSize);
    env.alloc.restrictTo(scratch.map((s) => ({ start: s.addr, size: s.size })));
    log.info("found kexec handover data.");
    return new KhoIn(env, rec.fdtPa, rec.scratchPa, rec.scratchSize, scratch, memMapPa);
  }

  /** True while the incoming FDT is usable (is_kho_boot()). */
  get active(): boolean {
    return this.fdtPa !== 0;
  }

  /** The incoming root FDT bytes (its page, read through memory). */
  get fdt(): Uint8Array {
    return this.env.mem.read(this.fdtPa, this.env.mem.pageSize);
  }

  /**
   * kho_memory_init() on a KHO boot: walk the incoming radix tree, reserve
   * every preserved block and stamp its head page. A walk that fails clears
   * the FDT pointer: the kernel is no longer a KHO boot. The kernel walks
   * the tree without any check, so where the simulator refuses an entry (a
   * child outside RAM, unaligned, shared or beyond the key width) the real
   * kernel would fault or reserve garbage: that is a hazard, not a kernel
   * message. The incoming tree's node pages become free memory afterwards.
   */
  memoryInit(): void {
    const { mem, alloc, log } = this.env;
    try {
      const tree = KhoRadixTree.adopt(mem, this.memMapPa, { legacyDepth: this.env.legacyRadixDepth ?? false });
      this.nodePages = tree.nodePagePAs();
      tree.walk((pa, order) => {
        this.reserveBlock(pa, order);
        return 0;
      });
      log.note(`reserve walk: ${this.stamps.size} preserved blocks reserved and stamped`);
    } catch (e) {
      if (!isKhoError(e)) throw e;
      log.hazard(`preserved-memory radix tree: ${e.message}: ${consequence(e)}`);
      log.note("reserve walk stopped: the boot continues as a cold one (kho_in.fdt_phys cleared)");
      this.stamps.clear();
      this.fdtPa = 0;
    }
    alloc.restrictTo(null);
    for (const pa of this.nodePages)
      mem.poison(pa / mem.pageSize, 1, "incoming radix tree node, free after the reserve walk");
  }

  /**
   * kho_preserved_memory_reserve(). At rc1 the size is `1 << (order +
   * PAGE_SHIFT)` computed in C int: from 2 GiB blocks up it is wrong (on
   * x86-64 the shift count is taken mod 32 and bit 31 sign-extends), fixed
   * after rc1 by 3a0b8fa2eb36. The simulator reserves what rc1 reserves and
   * notes the discrepancy (the kernel prints nothing).
   */
  private reserveBlock(pa: number, order: number): void {
    const { mem, alloc, log } = this.env;
    const shift = (order + mem.pageShift) & 31;
    const asInt = shift === 31 ? -(2 ** 31) : 2 ** shift;
    const want = mem.pageSize * 2 ** order;
    const sz = asInt < 0 ? Number.MAX_SAFE_INTEGER - pa : asInt;
    if (sz !== want) {
      const computed = asInt < 0 ? hex(2n ** 64n + BigInt(asInt)) : hex(asInt);
      log.note(`reserve of order-${order} block at ${hex(pa)}: size computed as ${computed} instead of ${hex(want)}`);
    }
    alloc.reserve(pa, sz);
    this.stamps.set(pa / mem.pageSize, order + 1);
  }

  /** page->private of a page as the reserve walk left it (0 when not stamped). */
  pagePrivate(pfn: number): bigint {
    const stamp = this.stamps.get(pfn);
    return stamp === 0 ? 0n : (BigInt(KHO_PAGE_MAGIC) << 32n) | BigInt(stamp - 1);
  }

  get stampedBlocks(): number {
    return this.stamps.size;
  }

  /** kho_restore_page(): stamp check (no order cap at rc1), clear, hand the pages over. */
  private restorePage(pa: number): number | null {
    const { mem, alloc, log } = this.env;
    const pfn = Math.floor(pa / mem.pageSize);
    if (!mem.pfnValid(pfn)) return null;
    const stamp = this.stamps.get(pfn);
    if (stamp === 0) {
      const why = `restore of ${hex(pa)}: page is not a preserved block head`;
      if (this.warnedRestore) log.note(why);
      else
        log.warnOn(
          "kernel/liveupdate/kexec_handover.c",
          "kho_restore_page",
          "WARN_ON_ONCE(info.magic != KHO_PAGE_MAGIC)",
          why,
        );
      this.warnedRestore = true;
      return null;
    }
    this.stamps.delete(pfn);
    alloc.adopt(pfn * mem.pageSize, stamp - 1);
    return stamp - 1;
  }

  /** kho_restore_folio: the folio at `pa` with its preserved order, or null. */
  restoreFolio(pa: number): Folio | null {
    const order = this.restorePage(pa);
    return order === null ? null : { pa: Math.floor(pa / this.env.mem.pageSize) * this.env.mem.pageSize, order };
  }

  /**
   * kho_restore_pages: steps through the range with the plain (not NUMA
   * aware) split, restoring one block per step; the first missing stamp
   * returns null and leaves earlier blocks restored.
   */
  restorePages(pa: number, nrPages: number): number | null {
    const ps = this.env.mem.pageSize;
    for (const [pfn] of splitRange(Math.floor(pa / ps), nrPages)) if (this.restorePage(pfn * ps) === null) return null;
    return Math.floor(pa / ps) * ps;
  }

  /** kho_restore_free: restore the folio at `pa` and free it; a failure only warns. */
  restoreFree(pa: number): void {
    const folio = this.restoreFolio(pa);
    if (!folio) {
      this.env.log.warnOn("kernel/liveupdate/kexec_handover.c", "kho_restore_free", "WARN_ON(!folio)", hex(pa));
      return;
    }
    this.env.alloc.freeBlock(folio.pa, folio.order);
  }

  /**
   * kho_restore_vmalloc: unknown flags refused; every listed group restored
   * with restorePages (never beyond total_pages); chunk pages restored and
   * freed; exactly total_pages collected. No undo on failure (as rc1). The
   * kernel follows chunk pointers without a check: one outside RAM would
   * fault it, so the simulator reports a hazard and returns null.
   */
  restoreVmalloc(v: KhoVmalloc): VmArea | null {
    try {
      return this.restoreVmallocChunks(v);
    } catch (e) {
      if (!isKhoError(e, "EFAULT")) throw e;
      this.env.log.hazard(`kho_restore_vmalloc: ${e.message}: ${consequence(e)}`);
      return null;
    }
  }

  private restoreVmallocChunks(v: KhoVmalloc): VmArea | null {
    const { mem } = this.env;
    if (v.flags & ~(KHO_VMALLOC_ALLOC | KHO_VMALLOC_HUGE_VMAP)) return null;
    const layout = vmallocChunkLayout(mem.pageSize);
    const group = 2 ** v.order;
    const pages: number[] = [];
    let cur = Number(v.first);
    let chunks = 0;
    while (cur) {
      if (++chunks > v.total_pages + 1) return null;
      for (const pa of chunkEntries(mem, layout, cur)) {
        if (pages.length + group > v.total_pages) return null;
        if (this.restorePages(pa, group) === null) return null;
        for (let j = 0; j < group; j++) pages.push(pa + j * mem.pageSize);
      }
      if (this.restorePages(cur, 1) === null) return null;
      const next = mem.readU64Number(layout.nextAt(cur));
      this.env.alloc.freeBlock(cur, 0);
      cur = next;
    }
    if (pages.length !== v.total_pages) return null;
    return { nrPages: v.total_pages, order: v.order, vmFlags: khoFlagsToVm(v.flags), pages };
  }

  /**
   * kho_retrieve_subtree with the kernel's error order: no incoming FDT
   * ENOENT; no `phys` EINVAL; no such child ENOENT; bad preserved-data
   * EINVAL; `phys` written; bad blob-size warns and is EINVAL (phys stays
   * written); `size` written. Returns 0 or a negative errno.
   */
  retrieveSubtree(name: string, phys: Ref<number> | null, size: Ref<number> | null): number {
    return retrieveFrom(this.active ? this.fdt : null, name, phys, size, this.env.log);
  }

  /** retrieveSubtree as a throwing call returning both values. */
  getSubtree(name: string): { phys: number; size: number } {
    const phys: Ref<number> = {};
    const size: Ref<number> = {};
    const rc = retrieveFrom(this.active ? this.fdt : null, name, phys, size, this.env.log);
    if (rc === -2) throw new KhoError("ENOENT", `no incoming subtree "${name}"`, name);
    if (rc !== 0) throw new KhoError("EINVAL", `broken incoming subtree "${name}"`, name);
    return { phys: phys.value!, size: size.value! };
  }
}

/**
 * fdt_getprop as kho_retrieve_subtree sees it: NULL whatever the reason, so
 * a property libfdt cannot read (a broken tag after the node's name) is as
 * missing as an absent one, and the caller's errno is the same.
 */
function propOrNull(fdt: Uint8Array, node: number, name: string): ReturnType<typeof findProp> {
  try {
    return findProp(fdt, node, name);
  } catch (e) {
    if (isKhoError(e)) return undefined;
    throw e;
  }
}

/** kho_retrieve_subtree on a given root FDT (null: not a KHO boot). */
export function retrieveFrom(
  fdt: Uint8Array | null,
  name: string,
  phys: Ref<number> | null,
  size: Ref<number> | null,
  log?: ScopedLog,
): number {
  if (!fdt) return -2;
  if (!phys) return -22;
  let node: number;
  try {
    node = subnodeOffset(fdt, 0, name);
  } catch (e) {
    if (isKhoError(e)) return -2;
    throw e;
  }
  return retrieveAt(fdt, node, name, phys, size, log);
}

/**
 * The rest of kho_retrieve_subtree once the child is found, at its node
 * offset: also reads a child no name lookup finds again (one whose name
 * holds bytes that are no text).
 */
export function retrieveAt(
  fdt: Uint8Array,
  node: number,
  name: string,
  phys: Ref<number>,
  size: Ref<number> | null,
  log?: ScopedLog,
): number {
  const data = propOrNull(fdt, node, KHO_FDT_SUB_TREE_PROP_NAME);
  if (data?.value.length !== 8) return -22;
  phys.value = u64At(data.value);
  const blob = propOrNull(fdt, node, KHO_FDT_BLOB_SIZE_PROP_NAME);
  if (blob?.value.length !== 8) {
    log?.warn(`broken KHO subnode '${name}': missing or invalid blob-size property`);
    return -22;
  }
  if (size) size.value = u64At(blob.value);
  return 0;
}
