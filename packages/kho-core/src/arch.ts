import { KhoError } from "./errors.js";

/**
 * The architecture a kernel is built for. It decides how the handover
 * record travels (x86 setup_data, arm64 DT /chosen), how much
 * early_memremap() can map, and where ARCH_LOW_ADDRESS_LIMIT lies.
 */
export type Arch = "x86" | "arm64";

export const ARCHES: readonly Arch[] = ["x86", "arm64"];

export function checkArch(arch: string): Arch {
  if (!(ARCHES as readonly string[]).includes(arch))
    throw new KhoError("EINVAL", `architecture "${arch}" is not one of ${ARCHES.join(", ")}`, "arch");
  return arch as Arch;
}

/** x86's NR_FIX_BTMAPS is a fixed 64 pages; arm64 sizes it as SZ_256K / PAGE_SIZE. */
export function earlyMapMaxPages(arch: Arch, pageSize: number): number {
  return arch === "x86" ? 64 : (256 * 1024) / pageSize;
}

/** x86 does not define ARCH_LOW_ADDRESS_LIMIT, so memblock's generic 0xffffffff applies. */
export const X86_LOW_ADDRESS_LIMIT = 0xffffffff;

/**
 * arm64's default DMA zone limit: zone_dma_limit is DMA_BIT_MASK(32) when
 * neither DT dma-ranges nor ACPI IORT narrow it, and arm64_dma_phys_limit
 * is `min(zone_dma_limit, end of DRAM - 1) + 1` (max_zone_phys()).
 */
export function arm64DmaPhysLimit(endOfDram: number): number {
  return Math.min(0xffffffff, endOfDram - 1) + 1;
}

/**
 * ARCH_LOW_ADDRESS_LIMIT for a machine whose RAM ends at `endOfDram`: x86
 * 0xffffffff, arm64 `arm64_dma_phys_limit - 1`. memblock treats it as the
 * end of the lowmem search and memblock_reserved_kern_size() clips there.
 */
export function lowAddressLimit(arch: Arch, endOfDram: number): number {
  return arch === "x86" ? X86_LOW_ADDRESS_LIMIT : arm64DmaPhysLimit(endOfDram) - 1;
}
