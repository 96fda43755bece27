import { KHO_VMALLOC_ALLOC, KHO_VMALLOC_HUGE_VMAP, kho_vmalloc_chunk, kho_vmalloc_hdr } from "../abi/kexec-handover.js";
import type { PageSize } from "../mem/geometry.js";
import type { PhysMem } from "../mem/phys.js";
import { VM_ALLOC, VM_ALLOW_HUGE_VMAP } from "./types.js";

/** Where the link and the address slots sit in a `struct kho_vmalloc_chunk` page. */
export interface VmallocChunkLayout {
  /** Address slots per chunk page: (PAGE_SIZE - 8) / 8. */
  readonly capacity: number;
  /** PA of slot `i` of the chunk at `chunk`. */
  slotAt(chunk: number, i: number): number;
  /** PA of the chunk's `hdr.next`. */
  nextAt(chunk: number): number;
}

export function vmallocChunkLayout(pageSize: PageSize): VmallocChunkLayout {
  const chunk = kho_vmalloc_chunk.at(pageSize);
  const phys = chunk.offsetOf("phys");
  const next = chunk.offsetOf("hdr") + kho_vmalloc_hdr.offsetOf("next");
  return {
    capacity: (chunk.size - phys) / 8,
    slotAt: (c, i) => c + phys + 8 * i,
    nextAt: (c) => c + next,
  };
}

/** The group addresses a chunk lists, up to the first 0 entry. */
export function* chunkEntries(mem: PhysMem, layout: VmallocChunkLayout, chunk: number): IterableIterator<number> {
  for (let i = 0; i < layout.capacity; i++) {
    const pa = mem.readU64Number(layout.slotAt(chunk, i));
    if (!pa) return;
    yield pa;
  }
}

/** VM_* flags of an area as kho_vmalloc.flags stores them. */
export function vmFlagsToKho(vmFlags: number): number {
  return (vmFlags & VM_ALLOC ? KHO_VMALLOC_ALLOC : 0) | (vmFlags & VM_ALLOW_HUGE_VMAP ? KHO_VMALLOC_HUGE_VMAP : 0);
}

export function khoFlagsToVm(flags: number): number {
  return (flags & KHO_VMALLOC_ALLOC ? VM_ALLOC : 0) | (flags & KHO_VMALLOC_HUGE_VMAP ? VM_ALLOW_HUGE_VMAP : 0);
}
