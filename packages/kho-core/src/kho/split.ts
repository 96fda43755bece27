import { ctz, ilog2 } from "../mem/geometry.js";

/**
 * The order of the next block when a page range is cut into naturally
 * aligned power-of-two blocks: as large as the alignment of `pfn` and the
 * remaining length allow. With `nidOf`, a block is shrunk until its first
 * and last page are on the same NUMA node (91e74fa8b1bc); restore walks the
 * range without it.
 */
export function splitOrder(pfn: number, end: number, nidOf?: (pfn: number) => number): number {
  let order = Math.min(ctz(pfn), ilog2(end - pfn));
  if (nidOf) while (order > 0 && nidOf(pfn) !== nidOf(pfn + 2 ** order - 1)) order--;
  return order;
}

/** Every (pfn, order) block of [pfn, pfn + n) in ascending order. */
export function* splitRange(
  pfn: number,
  n: number,
  nidOf?: (pfn: number) => number,
): IterableIterator<[number, number]> {
  const end = pfn + n;
  while (pfn < end) {
    const order = splitOrder(pfn, end, nidOf);
    yield [pfn, order];
    pfn += 2 ** order;
  }
}
