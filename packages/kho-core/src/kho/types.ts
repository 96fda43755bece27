/** A folio as KHO sees it: a naturally aligned block of 2^order pages. */
export interface Folio {
  readonly pa: number;
  readonly order: number;
}

/** kernel/liveupdate's VM_* flags that KHO maps into struct kho_vmalloc.flags. */
export const VM_ALLOC = 0x2;
export const VM_ALLOW_HUGE_VMAP = 0x400;

/**
 * A vmalloc area of the simulated kernel: `nrPages` pages mapped
 * contiguously in virtual memory, backed by physical blocks of 2^order
 * pages that need not be contiguous. `pages[i]` is the PA of page i.
 */
export interface VmArea {
  readonly nrPages: number;
  readonly order: number;
  readonly vmFlags: number;
  readonly pages: readonly number[];
}
