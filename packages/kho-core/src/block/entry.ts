import type { PhysMem } from "../mem/phys.js";

/**
 * The `len` bytes at `pa` as a live view of their page, or null when they
 * cross a page boundary. A block is one page, so every slot of a block
 * this kernel made lies in one page: serialising and restoring a million
 * entries then reads and writes them in place, without a copy per access.
 * A misaligned block from a corrupted chain may have slots that cross
 * pages; callers fall back to `PhysMem.read`/`write` for those. The view
 * is for the access at hand: a later whole-page zero gives the page new
 * storage, so it must not be kept.
 */
export function slotBytes(mem: PhysMem, pa: number, len: number): Uint8Array | null {
  const off = pa % mem.pageSize;
  return slotPage(mem, pa, len)?.subarray(off, off + len) ?? null;
}

/**
 * `slotBytes` without the view: the whole page holding the `len` bytes at
 * `pa` (they start at `pa % pageSize` in it), or null when they cross a
 * page boundary. For callers that touch a slot per preserved file and
 * index the page themselves: a view per slot is a million objects per
 * kexec. The same rule holds: the page is for the access at hand.
 */
export function slotPage(mem: PhysMem, pa: number, len: number): Uint8Array | null {
  const pfn = Math.floor(pa / mem.pageSize);
  if (pa - pfn * mem.pageSize + len > mem.pageSize) return null;
  // page() checks the address and poison, as read and write would.
  return mem.page(pfn);
}
