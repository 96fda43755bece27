import { KhoError } from "../errors.js";
import type { PhysMem } from "../mem/phys.js";
import { hex } from "../units.js";
import { FrameMarks } from "./frame-marks.js";
import { encodePfnKey, type RadixGeometry, radixGeometry } from "./geometry.js";
import { type RadixBatchSink, returnWalkBatch, takeWalkBatch, WALK_BATCH, type WalkBatch } from "./walk-batch.js";

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
 * One table page as the tree reaches it: its address, its words (a view of
 * the page's storage in PhysMem) and what its slots led to when they were
 * last followed. Memory stays the truth: a remembered child is used only
 * while the slot still holds the address it came from (kidWords), so these
 * links only save the address-to-view lookup, never change what is read.
 * A level-1 table links straight to its leaves' words: a leaf is reached
 * with one pointer less, which is one cache miss less when adds and
 * deletes jump between leaves.
 */
class RadixTable {
  /**
   * kidWords[2i] and kidWords[2i + 1] are the words slot i held when it was
   * last followed (both 0: never). Words, not an address as a double: the
   * check is two integer compares on the path of every add.
   */
  readonly kidWords: Uint32Array;
  /** Levels 2 and up: the tables the slots led to. */
  readonly tables: (RadixTable | undefined)[] | null;
  /** Level 1: the words of the leaves the slots led to. */
  readonly leaves: (Uint32Array | undefined)[] | null;

  constructor(
    readonly pa: number,
    readonly words: Uint32Array,
    level: number,
  ) {
    const slots = words.length >>> 1;
    this.kidWords = new Uint32Array(words.length);
    this.tables = level > 1 ? new Array<RadixTable | undefined>(slots) : null;
    this.leaves = level === 1 ? new Array<Uint32Array | undefined>(slots) : null;
  }

  /** Whether slot i holds a child and the same one as when it was last followed. */
  linked(i: number): boolean {
    const j = i << 1;
    const lo = this.words[j]!;
    const hi = this.words[j | 1]!;
    return (lo | hi) !== 0 && lo === this.kidWords[j] && hi === this.kidWords[j | 1];
  }

  /** Records that slot i was followed to the node at `pa`. */
  remember(i: number, pa: number): void {
    this.kidWords[i << 1] = pa >>> 0;
    this.kidWords[(i << 1) | 1] = Math.floor(pa / TWO_32);
  }

  /** Forgets what slot i led to. */
  forget(i: number): void {
    this.kidWords[i << 1] = 0;
    this.kidWords[(i << 1) | 1] = 0;
  }
}

/**
 * The key bits from bit s up, of a key given as its 32-bit halves (hi, lo):
 * the table index at a level starting at bit s before masking. A level at
 * or past bit 64 takes none (0), as the reference defines it.
 */
function tableIndex(hi: number, lo: number, s: number): number {
  if (s < 32) return (lo >>> s) | (hi << (32 - s));
  return s < 64 ? hi >>> (s - 32) : 0;
}

/**
 * The node's page as doubles, for isZero4. Made per scan rather than kept
 * on the node: a sparse tree has one leaf per block, and a view per page
 * would add to the peak RSS the benchmark holds against the C reference.
 */
function doubles(words: Uint32Array): Float64Array {
  return new Float64Array(words.buffer, words.byteOffset, words.length >>> 1);
}

/**
 * True when u64 words i .. i+3 of a node are all zero. A zero u64 reads as
 * the double +0; the only other bit pattern equal to 0 is -0 (bit 63 alone),
 * which Object.is tells apart. Four double compares per 32 bytes scan an
 * empty page several times faster than pairs of u32 words.
 */
function isZero4(f: Float64Array, i: number): boolean {
  const a = f[i]!;
  const b = f[i + 1]!;
  const c = f[i + 2]!;
  const d = f[i + 3]!;
  return (
    a === 0 &&
    b === 0 &&
    c === 0 &&
    d === 0 &&
    !Object.is(a, -0) &&
    !Object.is(b, -0) &&
    !Object.is(c, -0) &&
    !Object.is(d, -0)
  );
}

/**
 * The KHO preserved-memory radix tree (spec 3) on node pages in simulated
 * physical memory: tables of little-endian u64 child addresses, leaves that
 * are Linux bitmaps. Each key (see encodeKey) is one bit of one leaf.
 *
 * Keys are split into two 32-bit halves and every index is taken with
 * shifts and masks, so the hot paths do integer work on typed arrays only.
 * PhysMem.page checks poison and RAM when a node is first reached; the views
 * assume nobody else frees or re-zeroes a node page while the tree is in use
 * (KHO keeps them). Adds and deletes start at the remembered leaf or at the
 * lowest remembered table on the key's path, and so also assume nobody
 * rewrites a slot above those while the tree is in use; every slot they
 * follow below is checked against memory. Walks trust nothing remembered
 * beyond the address-to-view lookup.
 */
export class KhoRadixTree {
  readonly geometry: RadixGeometry;
  private readonly rootNode: RadixTable;
  private readonly warn: (message: string) => void;
  private readonly depth: number;
  private readonly tableMask: number;
  private readonly leafMask: number;
  private readonly bitmapLog2: number;
  /** shifts[l] is the key bit where table level l (1 .. depth-1) starts. */
  private readonly shifts: Int32Array;
  /** pow2[i] = 2^i and invPow2[i] = 2^-i for i <= 64: exact scaling without Math.pow. */
  private readonly pow2: Float64Array;
  private readonly invPow2: Float64Array;
  private readonly pfnLimit: number;
  /** The last leaf touched and the key bits above it (high word, low word >>> bitmapLog2). */
  private lastLeafHi = -1;
  private lastLeafLo = -1;
  private lastLeaf: Uint32Array | null = null;
  /**
   * The last path linkedLeaf took: pathTables[l] is the table it reached at
   * level l, pathHi[l] and pathLo[l] the key bits above that table (the key
   * masked with pathHiMask[l] and pathLoMask[l]). Keys that jump between
   * the leaves of a few tables, as random ones do, start at the lowest
   * table they share with the last key instead of at the root.
   */
  private readonly pathTables: (RadixTable | null)[];
  private readonly pathHi: Int32Array;
  private readonly pathLo: Int32Array;
  private readonly pathHiMask: Int32Array;
  private readonly pathLoMask: Int32Array;
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
    this.depth = g.depth;
    this.tableMask = g.tableEntries - 1;
    this.leafMask = g.leafBits - 1;
    this.bitmapLog2 = g.bitmapLog2;
    this.shifts = Int32Array.from([0, ...g.levelShifts]);
    this.pow2 = Float64Array.from({ length: 65 }, (_, i) => 2 ** i);
    this.invPow2 = Float64Array.from({ length: 65 }, (_, i) => 2 ** -i);
    this.pfnLimit = 2 ** g.order0Log2;
    // A table at level l covers the key bits below level l + 1's shift; the root covers all of them.
    const above = (l: number): number => (l < g.depth - 1 ? this.shifts[l + 1]! : 64);
    this.pathLoMask = Int32Array.from({ length: g.depth }, (_, l) => (above(l) < 32 ? -1 << above(l) : 0));
    this.pathHiMask = Int32Array.from({ length: g.depth }, (_, l) =>
      above(l) <= 32 ? -1 : above(l) < 64 ? -1 << (above(l) - 32) : 0,
    );
    this.pathHi = new Int32Array(g.depth);
    this.pathLo = new Int32Array(g.depth);
    if (root === null) {
      const pa = this.newPage();
      this.rootNode = new RadixTable(pa, this.viewOf(pa), g.depth - 1);
    } else {
      this.checkNodeAddress(root, "radix root");
      this.rootNode = new RadixTable(root, this.viewOf(root), g.depth - 1);
    }
    this.pathTables = Array.from({ length: g.depth }, (_, l) => (l === g.depth - 1 ? this.rootNode : null));
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

  /** Physical address of the root table. */
  get root(): number {
    return this.rootNode.pa;
  }

  private checkNodeAddress(pa: number, what: string): void {
    if (!Number.isSafeInteger(pa) || pa <= 0 || pa % this.mem.pageSize !== 0)
      throw new KhoError("EINVAL", `${what} ${Number.isSafeInteger(pa) ? hex(pa) : pa} is not a page-aligned address`);
    if (!this.mem.pfnValid(pa / this.mem.pageSize))
      throw new KhoError("EFAULT", `${what} ${hex(pa)} is not RAM`, hex(pa));
  }

  /** The node page at `pa` (already checked to be page-aligned RAM), viewed as words. */
  private viewOf(pa: number): Uint32Array {
    const bytes = this.mem.page(pa / this.mem.pageSize);
    return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  }

  /** A zeroed node page from the allocator; views made of it afterwards see its fresh storage. */
  private newPage(): number {
    if (this.alloc === null) throw new KhoError("ENOMEM", "radix tree has no page allocator (adopted read-only)");
    return this.alloc.alloc(0);
  }

  /**
   * Records that slot i of `table` (at level l) leads to the node at `pa`
   * and returns the child's table, or null for a leaf (then in leaves[i]).
   */
  private link(table: RadixTable, i: number, pa: number, l: number): RadixTable | null {
    table.remember(i, pa);
    if (l === 1) {
      table.leaves![i] = this.viewOf(pa);
      return null;
    }
    const kid = new RadixTable(pa, this.viewOf(pa), l - 1);
    table.tables![i] = kid;
    return kid;
  }

  /**
   * The key of (pfn, order) as a number below 2^53 (encodePfnKey with its
   * checks reduced to comparisons; multiplying by 2^-order is exact).
   */
  private key(pfn: number, order: number): number {
    // Math.floor, not %, tests integrality: a double modulus is a library call.
    if (
      !(order >= 0 && order <= this.geometry.maxOrder && pfn >= 0 && pfn < this.pfnLimit) ||
      Math.floor(order) !== order ||
      Math.floor(pfn) !== pfn
    )
      return encodePfnKey(this.geometry, pfn, order); // throws the descriptive error
    return this.pow2[this.geometry.order0Log2 - order]! + Math.floor(pfn * this.invPow2[order]!);
  }

  /**
   * Adds the block of 2^order pages at `pfn` (kho_radix_add_page). Adding a
   * present key changes nothing. When a node page cannot be allocated every
   * page allocated by this call is freed, the first new slot is cleared and
   * the allocator's error is thrown: the tree is as before.
   */
  addPage(pfn: number, order: number): void {
    const key = this.key(pfn, order);
    const lo = key >>> 0;
    const hi = ((key - lo) / TWO_32) | 0;
    const leaf = this.cachedLeaf(hi, lo) ?? this.linkedLeaf(hi, lo) ?? this.descend(hi, lo, true)!;
    const bit = lo & this.leafMask;
    leaf[bit >>> 5]! |= 1 << (bit & 31);
  }

  /**
   * Removes the block's key (kho_radix_del_page). A missing path is warned
   * about and changes nothing; clearing a clear bit is silent. Node pages
   * are never freed.
   */
  delPage(pfn: number, order: number): void {
    const key = this.key(pfn, order);
    const lo = key >>> 0;
    const hi = ((key - lo) / TWO_32) | 0;
    const leaf = this.cachedLeaf(hi, lo) ?? this.linkedLeaf(hi, lo) ?? this.descend(hi, lo, false);
    if (leaf === null) {
      this.warn(
        `kho radix: delete of pfn ${hex(pfn)} order ${order}: no node at level ${this.missLevel} (key ${hex(key)})`,
      );
      return;
    }
    const bit = lo & this.leafMask;
    leaf[bit >>> 5]! &= ~(1 << (bit & 31));
  }

  /**
   * The last leaf touched when the key's bits above the leaf name it, else
   * null. Kept apart from descend and small so that the common case of
   * consecutive keys sharing a leaf is inlined into addPage and delPage.
   */
  private cachedLeaf(hi: number, lo: number): Uint32Array | null {
    return hi === this.lastLeafHi && lo >>> this.bitmapLog2 === this.lastLeafLo ? this.lastLeaf : null;
  }

  /**
   * The leaf of the key when every slot on its path still holds the node
   * it was linked to, else undefined, and descend() takes the path with its
   * checks and allocations. This is every add once the key's region of the
   * tree exists: kept small, so that it is inlined into addPage and
   * delPage, and free of allocations (descend, with its unwinding on
   * failure, is neither; a call to it cost 50 ns per add where adds jump
   * between leaves).
   */
  private linkedLeaf(hi: number, lo: number): Uint32Array | undefined {
    const path = this.pathTables;
    // The lowest remembered table whose key bits above it are the key's: the root's masks are 0, so it matches.
    let l = 1;
    while (
      path[l] === null ||
      (hi & this.pathHiMask[l]!) !== this.pathHi[l] ||
      (lo & this.pathLoMask[l]!) !== this.pathLo[l]
    )
      l++;
    let node = path[l]!;
    for (; l > 1; l--) {
      const i = tableIndex(hi, lo, this.shifts[l]!) & this.tableMask;
      if (!node.linked(i)) return undefined;
      node = node.tables![i]!;
      path[l - 1] = node;
      this.pathHi[l - 1] = hi & this.pathHiMask[l - 1]!;
      this.pathLo[l - 1] = lo & this.pathLoMask[l - 1]!;
    }
    const i = tableIndex(hi, lo, this.bitmapLog2) & this.tableMask;
    if (!node.linked(i)) return undefined;
    const leaf = node.leaves![i]!;
    this.lastLeafHi = hi;
    this.lastLeafLo = lo >>> this.bitmapLog2;
    this.lastLeaf = leaf;
    return leaf;
  }

  /**
   * Finds the leaf of the key from the root and remembers it as the last
   * leaf touched. With `create`, missing tables and the leaf are allocated on
   * the way, and a failed allocation undoes them before rethrowing. Without
   * it, a missing node returns null with its level in missLevel and
   * allocates nothing.
   */
  private descend(hi: number, lo: number, create: boolean): Uint32Array | null {
    let node = this.rootNode;
    let firstNew: RadixTable | null = null;
    let firstSlot = 0;
    // Pages allocated by this call, made only when one is: most descents allocate none.
    let fresh: number[] | null = null;
    for (let l = this.depth - 1; ; l--) {
      const i = tableIndex(hi, lo, this.shifts[l]!) & this.tableMask;
      const clo = node.words[i << 1]!;
      const chi = node.words[(i << 1) | 1]!;
      let pa = chi * TWO_32 + clo;
      const known = node.linked(i);
      if (pa === 0) {
        if (!create) {
          this.missLevel = l;
          return null;
        }
        try {
          pa = this.newPage();
        } catch (e) {
          this.undo(fresh, firstNew, firstSlot);
          throw e;
        }
        fresh ??= [];
        fresh.push(pa);
        node.words[i << 1] = pa >>> 0;
        node.words[(i << 1) | 1] = Math.floor(pa / TWO_32);
        if (firstNew === null) {
          firstNew = node;
          firstSlot = i;
        }
      } else if (!known) this.checkNodeAddress(pa, "radix node");
      if (l === 1) {
        if (!known) this.link(node, i, pa, 1);
        const leaf = node.leaves![i]!;
        this.lastLeafHi = hi;
        this.lastLeafLo = lo >>> this.bitmapLog2;
        this.lastLeaf = leaf;
        return leaf;
      }
      node = known ? node.tables![i]! : this.link(node, i, pa, l)!;
    }
  }

  private undo(fresh: readonly number[] | null, firstNew: RadixTable | null, slot: number): void {
    if (firstNew !== null) {
      firstNew.words[slot << 1] = 0;
      firstNew.words[(slot << 1) | 1] = 0;
      // The freed page may come back from the allocator for this very slot: forget the old view of it.
      firstNew.forget(slot);
      if (firstNew.tables !== null) firstNew.tables[slot] = undefined;
      else firstNew.leaves![slot] = undefined;
    }
    for (const pa of fresh ?? []) this.alloc!.freeBlock(pa, 0);
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
    return this.walkBatches({
      batch(phys, orders, n) {
        for (let i = 0; i < n; i++) {
          const r = cb(phys[i]!, orders[i]!);
          if (r !== 0) return r;
        }
        return 0;
      },
    });
  }

  /**
   * walk() with the blocks handed over in batches (see WalkBatch): the same
   * blocks in the same order, the same checks at the same points. A consumer
   * with a tight loop of its own (the walk digest) runs it over a batch with
   * its state in locals instead of paying a call and a state reload per block.
   */
  walkBatches(sink: RadixBatchSink): number {
    const visited = new FrameMarks(this.rootNode.pa / this.mem.pageSize);
    const out = takeWalkBatch(sink);
    try {
      const r = this.walkTable(this.rootNode, this.depth - 1, 0, visited, out);
      return r !== 0 ? r : out.flush();
    } finally {
      returnWalkBatch(out);
    }
  }

  /**
   * The address in slot i of table `node`, checked as an untrusted pointer:
   * page aligned, RAM, and not reached before in this traversal (`visited`,
   * by page frame: a sparse tree has a node per block).
   */
  private child(node: RadixTable, i: number, visited: FrameMarks): number {
    const words = node.words;
    const pa = words[(i << 1) | 1]! * TWO_32 + words[i << 1]!;
    if (!node.linked(i)) {
      const where = `slot ${i} of radix node ${hex(node.pa)}`;
      if (pa % this.mem.pageSize !== 0)
        throw new KhoError("EINVAL", `child ${hex(pa)} in ${where} is not page aligned`, hex(node.pa));
      if (!this.mem.pfnValid(pa / this.mem.pageSize))
        throw new KhoError("EFAULT", `child ${hex(pa)} in ${where} is not RAM`, hex(node.pa));
    }
    const pfn = pa / this.mem.pageSize;
    if (!visited.mark(pfn))
      throw new KhoError(
        "EINVAL",
        `child ${hex(pa)} in slot ${i} of radix node ${hex(node.pa)} is already part of the tree (loop or shared node)`,
        hex(node.pa),
      );
    return pa;
  }

  /** The table below slot i of `node` (at level l >= 2), whose address `pa` child() checked. */
  private tableAt(node: RadixTable, i: number, pa: number, l: number): RadixTable {
    return node.linked(i) ? node.tables![i]! : this.link(node, i, pa, l)!;
  }

  /** The leaf below slot i of level-1 table `node`, whose address `pa` child() checked. */
  private leafAt(node: RadixTable, i: number, pa: number): Uint32Array {
    if (!node.linked(i)) this.link(node, i, pa, 1);
    return node.leaves![i]!;
  }

  private walkTable(node: RadixTable, l: number, prefix: number, visited: FrameMarks, out: WalkBatch): number {
    const words = node.words;
    const s = this.shifts[l]!;
    // A level past bit 63 takes no key bits (its index is always 0), as the reference defines it.
    const step = s >= 64 ? 0 : this.pow2[s]!;
    const slots = words.length >>> 1;
    const wide = doubles(words);
    // Only the root can hold slots that would make keys wider than keyBits.
    const limit = l === this.depth - 1 ? Math.min(slots, Math.ceil(2 ** (this.geometry.keyBits - s))) : slots;
    for (let i = 0; i < slots; i++) {
      if ((i & 3) === 0 && isZero4(wide, i)) {
        i += 3;
        continue;
      }
      if ((words[i << 1]! | words[(i << 1) | 1]!) === 0) continue;
      // The blocks found so far go to the sink before the next node is checked or read (see WalkBatch).
      const r0 = out.flush();
      if (r0 !== 0) return r0;
      if (i >= limit)
        throw new KhoError(
          "EINVAL",
          `slot ${i} of radix root ${hex(node.pa)} lies beyond the ${this.geometry.keyBits}-bit key space`,
          hex(node.pa),
        );
      const pa = this.child(node, i, visited);
      const p = prefix + i * step;
      const r =
        l === 1
          ? this.walkLeaf(this.leafAt(node, i, pa), p, out)
          : this.walkTable(this.tableAt(node, i, pa, l), l - 1, p, visited, out);
      if (r !== 0) return r;
    }
    return 0;
  }

  /**
   * Adds the blocks of one leaf to the batch: groups of four empty u64 words
   * are skipped with one test (isZero4), set bits are found with clz32 of the
   * lowest set bit of each u32 word. Every key of a leaf with a non-zero
   * prefix shares its highest bit, so its order and the scale from key to
   * address are taken once per leaf, and the loop per bit is integer work,
   * one multiply and two stores. The leaf of prefix 0 (the largest orders)
   * decodes each key on its own (walkLeafZero).
   */
  private walkLeaf(bits: Uint32Array, prefix: number, out: WalkBatch): number {
    if (prefix === 0) return this.walkLeafZero(bits, out);
    const hi = Math.floor(prefix / TWO_32);
    const msb = hi !== 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(prefix >>> 0);
    const order = this.geometry.order0Log2 - msb;
    const base = prefix - this.pow2[msb]!;
    const scale = this.pow2[64 - msb]!;
    const phys = out.phys;
    const orders = out.orders;
    let n = out.n;
    // Read once: an imported constant is a module binding, loaded and checked for initialisation at each use.
    const full = WALK_BATCH - 256;
    const wide = doubles(bits);
    for (let q = 0; q < wide.length; q += 4) {
      if (isZero4(wide, q)) continue;
      // Room for every bit of the group is made before it, not tested per bit: in a leaf a few percent full
      // (random keys) the loops below are half the time of the walk, and each test per bit is a branch more.
      if (n > full) {
        out.n = n;
        const r = out.flush();
        if (r !== 0) return r;
        n = 0;
      }
      for (let w = q << 1; w < (q + 4) << 1; w++) {
        let word = bits[w]!;
        if (word === 0) continue;
        const first = w << 5;
        do {
          phys[n] = (base + (first | (31 - Math.clz32(word & -word)))) * scale;
          orders[n] = order;
          n++;
          word &= word - 1;
        } while (word !== 0);
      }
    }
    out.n = n;
    return 0;
  }

  /** walkLeaf for the leaf of prefix 0, whose keys each have an order of their own (decoded as decodeKey does). */
  private walkLeafZero(bits: Uint32Array, out: WalkBatch): number {
    const g = this.geometry;
    for (let w = 0; w < bits.length; w++) {
      for (let word = bits[w]!; word !== 0; word &= word - 1) {
        const b = (w << 5) | (31 - Math.clz32(word & -word));
        if (out.n === WALK_BATCH) {
          const r = out.flush();
          if (r !== 0) return r;
        }
        const msb = b === 0 ? -1 : 31 - Math.clz32(b);
        out.phys[out.n] = b === 0 ? 0 : (b - this.pow2[msb]!) * this.pow2[64 - msb]!;
        out.orders[out.n] = g.order0Log2 - msb;
        out.n++;
      }
    }
    return 0;
  }

  /** Node pages reachable from the root (the root included). */
  get nodePages(): number {
    return this.reachable().length;
  }

  /**
   * Physical addresses of every node page reachable from the root,
   * ascending. KHO keeps these out of poison at kexec. Bounded like walk().
   */
  nodePagePAs(): number[] {
    return this.reachable()
      .sort((a, b) => a - b)
      .map((pfn) => pfn * this.mem.pageSize);
  }

  /** Page frame numbers of the node pages reachable from the root. */
  private reachable(): number[] {
    const first = this.rootNode.pa / this.mem.pageSize;
    const visited = new FrameMarks(first);
    const pfns = [first];
    const scan = (node: RadixTable, l: number): void => {
      const words = node.words;
      const wide = doubles(words);
      for (let i = 0; i < words.length >>> 1; i++) {
        if ((i & 3) === 0 && isZero4(wide, i)) {
          i += 3;
          continue;
        }
        if ((words[i << 1]! | words[(i << 1) | 1]!) === 0) continue;
        const pa = this.child(node, i, visited);
        pfns.push(pa / this.mem.pageSize);
        if (l > 1) scan(this.tableAt(node, i, pa, l), l - 1);
      }
    };
    scan(this.rootNode, this.depth - 1);
    return pfns;
  }
}
