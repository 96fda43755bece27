import { KhoError } from "../errors.js";
import type { PhysMem } from "../mem/phys.js";
import { hex } from "../units.js";
import { encodePfnKey, type RadixGeometry, radixGeometry } from "./geometry.js";

/**
 * Where node pages come from. PageAllocator fits as is: `alloc(0)` returns
 * the address of a zeroed page (throwing a KhoError ENOMEM when none is
 * left) and `freeBlock(pa, 0)` gives it back.
 */
export interface RadixNodeAllocator {
  alloc(order: number): number;
  freeBlock(pa: number, order: number): void;
}

export interface KhoRadixTreeOptions {
  readonly legacyDepth?: boolean;
  /** Receives the kernel's warnings (delete of a key whose path is missing). */
  readonly warn?: (message: string) => void;
}

/** Walk callback: a preserved block; a non-zero return stops the walk. */
export type RadixWalkCallback = (phys: number, order: number) => number;

const TWO_32 = 4294967296;

// Node words are read through host-order Uint32Arrays; the kernel layout is little-endian.
if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error("khosim needs a little-endian host");

/**
 * The KHO preserved-memory radix tree (spec 3) on node pages in simulated
 * physical memory: tables of little-endian u64 child addresses, leaves that
 * are Linux bitmaps. Each key (see encodeKey) is one bit of one leaf.
 *
 * Node pages are reached through Uint32Array views over PhysMem's page
 * storage, cached by physical address; PhysMem.page checks poison and RAM
 * when a view is first made. The cache assumes nobody else frees or
 * re-zeroes a node page while the tree is in use (KHO keeps them).
 */
export class KhoRadixTree {
  readonly geometry: RadixGeometry;
  readonly root: number;
  private readonly views = new Map<number, Uint32Array>();
  private readonly warn: (message: string) => void;
  private readonly tableMask: number;
  private readonly leafMask: number;
  /** Key bit where the leaf-selecting part starts, as a divisor. */
  private readonly leafSpan: number;
  /** Per table level l (index l), 2^shift as a divisor, and whether shift >= 32. */
  private readonly shifts: Int32Array;
  /** pow2[i] = 2^i for i <= 64: exact divisors and multipliers without Math.pow. */
  private readonly pow2: Float64Array;
  private readonly pfnLimit: number;
  /** The last leaf touched and the key bits above it: consecutive keys share leaves. */
  private lastLeafKey = -1;
  private lastLeaf: Uint32Array | null = null;
  /** The table level where the last descend without `create` found no node (for delPage's warning). */
  private missLevel = 0;

  private constructor(
    readonly mem: PhysMem,
    private readonly alloc: RadixNodeAllocator | null,
    root: number | null,
    opts: KhoRadixTreeOptions,
  ) {
    const g = radixGeometry(mem.pageSize, { legacyDepth: opts.legacyDepth === true });
    this.geometry = g;
    this.warn = opts.warn ?? (() => {});
    this.tableMask = g.tableEntries - 1;
    this.leafMask = g.leafBits - 1;
    this.leafSpan = g.leafBits;
    this.shifts = Int32Array.from([0, ...g.levelShifts]);
    this.pow2 = Float64Array.from({ length: 65 }, (_, i) => 2 ** i);
    this.pfnLimit = 2 ** g.order0Log2;
    if (root === null) {
      this.root = this.newNode();
    } else {
      this.checkNodeAddress(root, "radix root");
      this.root = root;
    }
  }

  /** A new tree whose root page is allocated now (kho_init). */
  static create(mem: PhysMem, alloc: RadixNodeAllocator, opts: KhoRadixTreeOptions = {}): KhoRadixTree {
    return new KhoRadixTree(mem, alloc, null, opts);
  }

  /**
   * The tree whose root page is at `rootPa` (the incoming side). With no
   * allocator the tree is read-only: an add that needs a node fails ENOMEM.
   */
  static adopt(
    mem: PhysMem,
    rootPa: number,
    opts: KhoRadixTreeOptions & { readonly alloc?: RadixNodeAllocator } = {},
  ): KhoRadixTree {
    return new KhoRadixTree(mem, opts.alloc ?? null, rootPa, opts);
  }

  private checkNodeAddress(pa: number, what: string): void {
    if (!Number.isSafeInteger(pa) || pa <= 0 || pa % this.mem.pageSize !== 0)
      throw new KhoError("EINVAL", `${what} ${Number.isSafeInteger(pa) ? hex(pa) : pa} is not a page-aligned address`);
    if (!this.mem.pfnValid(pa / this.mem.pageSize))
      throw new KhoError("EFAULT", `${what} ${hex(pa)} is not RAM`, hex(pa));
  }

  private view(pa: number): Uint32Array {
    let v = this.views.get(pa);
    if (v === undefined) {
      this.checkNodeAddress(pa, "radix node");
      const bytes = this.mem.page(pa / this.mem.pageSize);
      v = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
      this.views.set(pa, v);
    }
    return v;
  }

  private newNode(): number {
    if (this.alloc === null) throw new KhoError("ENOMEM", "radix tree has no page allocator (adopted read-only)");
    const pa = this.alloc.alloc(0);
    // The allocator zeroed the page; the view made here sees its fresh storage.
    this.views.delete(pa);
    this.view(pa);
    return pa;
  }

  /** encodePfnKey with its checks reduced to comparisons (the add/del hot path). */
  private key(pfn: number, order: number): number {
    if (
      !(order >= 0 && order <= this.geometry.maxOrder && pfn >= 0 && pfn < this.pfnLimit) ||
      order % 1 !== 0 ||
      pfn % 1 !== 0
    )
      return encodePfnKey(this.geometry, pfn, order); // throws the descriptive error
    const div = this.pow2[order]!;
    return this.pow2[this.geometry.order0Log2 - order]! + Math.floor(pfn / div);
  }

  /** Table index of the key (split as hi/lo words) at level l. */
  private index(hi: number, lo: number, l: number): number {
    const s = this.shifts[l]!;
    if (s >= 64) return 0;
    if (s >= 32) return (hi >>> (s - 32)) & this.tableMask;
    return ((lo >>> s) | (hi << (32 - s))) & this.tableMask;
  }

  /**
   * Adds the block of 2^order pages at `pfn` (kho_radix_add_page). Adding a
   * present key changes nothing. When a node page cannot be allocated every
   * page allocated by this call is freed, the first new slot is cleared and
   * the allocator's error is thrown: the tree is as before.
   */
  addPage(pfn: number, order: number): void {
    const key = this.key(pfn, order);
    const bit = key & this.leafMask;
    const leafKey = Math.floor(key / this.leafSpan);
    const leaf = this.cachedLeaf(leafKey) ?? this.descend(key, leafKey, true)!;
    leaf[bit >>> 5]! |= 1 << (bit & 31);
  }

  /**
   * Removes the block's key (kho_radix_del_page). A missing path is warned
   * about and changes nothing; clearing a clear bit is silent. Node pages
   * are never freed.
   */
  delPage(pfn: number, order: number): void {
    const key = this.key(pfn, order);
    const bit = key & this.leafMask;
    const leafKey = Math.floor(key / this.leafSpan);
    const leaf = this.cachedLeaf(leafKey) ?? this.descend(key, leafKey, false);
    if (leaf === null) {
      this.warn(
        `kho radix: delete of pfn ${hex(pfn)} order ${order}: no node at level ${this.missLevel} (key ${hex(key)})`,
      );
      return;
    }
    leaf[bit >>> 5]! &= ~(1 << (bit & 31));
  }

  /**
   * The last leaf touched when `leafKey` (the key bits above the leaf) names
   * it, else null. Kept apart from descend and small so that the common case
   * of consecutive keys sharing a leaf is inlined into addPage and delPage:
   * calling the whole descent for every key measurably slows sequential adds.
   */
  private cachedLeaf(leafKey: number): Uint32Array | null {
    return leafKey === this.lastLeafKey ? this.lastLeaf : null;
  }

  /**
   * Finds the leaf of `key` from the root and remembers it as the last leaf
   * touched. With `create`, missing tables and the leaf are allocated on the
   * way, and a failed allocation undoes them before rethrowing. Without it, a
   * missing node returns null with its level in missLevel and allocates
   * nothing.
   */
  private descend(key: number, leafKey: number, create: boolean): Uint32Array | null {
    const hi = Math.floor(key / TWO_32);
    const lo = key >>> 0;
    let node = this.view(this.root);
    let firstNew: Uint32Array | null = null;
    let firstSlot = 0;
    // Pages allocated by this call, made only when one is: most descents allocate none.
    let fresh: number[] | null = null;
    for (let l = this.geometry.depth - 1; l >= 1; l--) {
      const w = this.index(hi, lo, l) << 1;
      const clo = node[w]!;
      const chi = node[w + 1]!;
      if (clo !== 0 || chi !== 0) {
        node = this.view(chi * TWO_32 + clo);
        continue;
      }
      if (!create) {
        this.missLevel = l;
        return null;
      }
      let pa: number;
      try {
        pa = this.newNode();
      } catch (e) {
        this.undo(fresh, firstNew, firstSlot);
        throw e;
      }
      fresh ??= [];
      fresh.push(pa);
      node[w] = pa >>> 0;
      node[w + 1] = Math.floor(pa / TWO_32);
      if (firstNew === null) {
        firstNew = node;
        firstSlot = w;
      }
      node = this.view(pa);
    }
    this.lastLeafKey = leafKey;
    this.lastLeaf = node;
    return node;
  }

  private undo(fresh: readonly number[] | null, firstNew: Uint32Array | null, slot: number): void {
    if (firstNew !== null) {
      firstNew[slot] = 0;
      firstNew[slot + 1] = 0;
    }
    for (const pa of fresh ?? []) {
      this.views.delete(pa);
      this.alloc!.freeBlock(pa, 0);
    }
  }

  /**
   * Calls `cb(phys, order)` for every key in ascending key order (larger
   * orders first, ascending address within an order) and returns the first
   * non-zero result, or 0. The tree may be untrusted (an incoming or
   * corrupted image): a child that is not page aligned, not RAM, already
   * visited (a loop or a shared node), or a root slot beyond the key width
   * stops the walk with a KhoError.
   */
  walk(cb: RadixWalkCallback): number {
    const visited = new Set<number>([this.root]);
    return this.walkTable(this.root, this.geometry.depth - 1, 0, visited, cb);
  }

  private child(node: number, w: number, table: Uint32Array, visited: Set<number>): number {
    const pa = table[w + 1]! * TWO_32 + table[w]!;
    const where = `slot ${w >>> 1} of radix node ${hex(node)}`;
    if (pa % this.mem.pageSize !== 0)
      throw new KhoError("EINVAL", `child ${hex(pa)} in ${where} is not page aligned`, hex(node));
    if (!this.mem.pfnValid(pa / this.mem.pageSize))
      throw new KhoError("EFAULT", `child ${hex(pa)} in ${where} is not RAM`, hex(node));
    if (visited.has(pa))
      throw new KhoError(
        "EINVAL",
        `child ${hex(pa)} in ${where} is already part of the tree (loop or shared node)`,
        hex(node),
      );
    visited.add(pa);
    return pa;
  }

  private walkTable(node: number, l: number, prefix: number, visited: Set<number>, cb: RadixWalkCallback): number {
    const table = this.view(node);
    const s = this.shifts[l]!;
    const step = 2 ** s;
    const words = table.length;
    // Only the root can hold slots that would make keys wider than keyBits.
    const limit =
      l === this.geometry.depth - 1 ? Math.min(words, Math.ceil(2 ** this.geometry.keyBits / step) * 2) : words;
    for (let w = 0; w < words; w += 2) {
      if (table[w] === 0 && table[w + 1] === 0) continue;
      if (w >= limit)
        throw new KhoError(
          "EINVAL",
          `slot ${w >>> 1} of radix root ${hex(node)} lies beyond the ${this.geometry.keyBits}-bit key space`,
          hex(node),
        );
      const childPa = this.child(node, w, table, visited);
      const p = s >= 64 ? prefix : prefix + (w >>> 1) * step;
      const r = l === 1 ? this.walkLeaf(childPa, p, cb) : this.walkTable(childPa, l - 1, p, visited, cb);
      if (r !== 0) return r;
    }
    return 0;
  }

  private walkLeaf(node: number, prefix: number, cb: RadixWalkCallback): number {
    const bits = this.view(node);
    const g = this.geometry;
    // Every key in this leaf above bit 0 of the prefix shares its highest bit, hence its order.
    let order = 0;
    let base = 0;
    let scale = 0;
    if (prefix !== 0) {
      const hi = Math.floor(prefix / TWO_32);
      const msb = hi !== 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(prefix >>> 0);
      order = g.order0Log2 - msb;
      base = prefix - 2 ** msb;
      scale = 2 ** (64 - msb);
    }
    for (let w = 0; w < bits.length; w++) {
      let word = bits[w]!;
      while (word !== 0) {
        const low = word & -word;
        const b = (w << 5) | (31 - Math.clz32(low));
        word ^= low;
        let r: number;
        if (prefix !== 0) r = cb((base + b) * scale, order);
        else if (b === 0) r = cb(0, g.order0Log2 + 1);
        else {
          const msb = 31 - Math.clz32(b);
          r = cb((b - 2 ** msb) * 2 ** (64 - msb), g.order0Log2 - msb);
        }
        if (r !== 0) return r;
      }
    }
    return 0;
  }

  /** Node pages reachable from the root (the root included). */
  get nodePages(): number {
    return this.nodePagePAs().length;
  }

  /**
   * Physical addresses of every node page reachable from the root,
   * ascending. KHO keeps these out of poison at kexec. Bounded like walk().
   */
  nodePagePAs(): number[] {
    const visited = new Set<number>([this.root]);
    const scan = (node: number, l: number): void => {
      const table = this.view(node);
      for (let w = 0; w < table.length; w += 2) {
        if (table[w] === 0 && table[w + 1] === 0) continue;
        const c = this.child(node, w, table, visited);
        if (l > 1) scan(c, l - 1);
      }
    };
    scan(this.root, this.geometry.depth - 1);
    return [...visited].sort((a, b) => a - b);
  }
}
