import { KhoError } from "../errors.js";

export const PAGE_SIZES = [4096, 16384, 65536] as const;
export type PageSize = (typeof PAGE_SIZES)[number];

/**
 * The per-page-size constants the rest of the simulator derives from.
 * `maxPageOrder` is the configuration default (x86 and arm64
 * ARCH_FORCE_MAX_ORDER), not ABI: the largest buddy block is
 * `pageSize << maxPageOrder`. `pageblockOrder` is pageblock_order:
 * min(PMD order, MAX_PAGE_ORDER), so one pageblock is 2 MiB / 32 MiB /
 * 512 MiB, CMA_MIN_ALIGNMENT_BYTES.
 */
export interface PageGeometry {
  readonly pageSize: PageSize;
  readonly pageShift: 12 | 14 | 16;
  readonly maxPageOrder: number;
  readonly pageblockOrder: number;
}

const GEOMETRY: Record<PageSize, PageGeometry> = {
  4096: { pageSize: 4096, pageShift: 12, maxPageOrder: 10, pageblockOrder: 9 },
  16384: { pageSize: 16384, pageShift: 14, maxPageOrder: 11, pageblockOrder: 11 },
  65536: { pageSize: 65536, pageShift: 16, maxPageOrder: 13, pageblockOrder: 13 },
};

export function pageGeometry(pageSize: number): PageGeometry {
  const g = GEOMETRY[pageSize as PageSize];
  if (!g) throw new KhoError("EINVAL", `page size ${pageSize} is not one of 4KiB, 16KiB, 64KiB`);
  return g;
}

/** Kernel get_order(): smallest order whose block holds `size` bytes (size > 0). */
export function getOrder(size: number, pageShift: number): number {
  let order = 0;
  while (2 ** (order + pageShift) < size) order++;
  return order;
}

/** Count of trailing zero bits; ctz(0) is 64 as the kernel's count_trailing_zeros(0). */
export function ctz(n: number): number {
  if (n === 0) return 64;
  let c = 0;
  while (n % 2 === 0) {
    n /= 2;
    c++;
  }
  return c;
}

/** floor(log2(n)) for n >= 1. */
export function ilog2(n: number): number {
  let r = 0;
  while (n >= 2) {
    n = Math.floor(n / 2);
    r++;
  }
  return r;
}
