/* SPDX-License-Identifier: GPL-2.0-only */
/* KHO vmalloc preservation: generated from the khosim ABI schema "kho-vmalloc" (PAGE_SIZE 4096). */
#ifndef KHO_ABI_KHO_VMALLOC_H
#define KHO_ABI_KHO_VMALLOC_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __packed
#define __packed __attribute__((__packed__))
#endif

#define KHO_VMALLOC_ALLOC 1
#define KHO_VMALLOC_HUGE_VMAP 2

struct kho_vmalloc {
	uint64_t first; /* physical address, 0 = none; First chunk page. */
	uint32_t total_pages; /* Pages in the area (nr_pages). */
	uint16_t flags; /* KHO_VMALLOC_ALLOC (bit 0), KHO_VMALLOC_HUGE_VMAP (bit 1); other bits are refused on restore. */
	uint16_t order; /* Page order of the mapping; each chunk entry covers 2^order pages. */
};
static_assert(sizeof(struct kho_vmalloc) == 16, "sizeof(struct kho_vmalloc)");
static_assert(offsetof(struct kho_vmalloc, first) == 0, "offsetof(struct kho_vmalloc, first)");
static_assert(offsetof(struct kho_vmalloc, total_pages) == 8, "offsetof(struct kho_vmalloc, total_pages)");
static_assert(offsetof(struct kho_vmalloc, flags) == 12, "offsetof(struct kho_vmalloc, flags)");
static_assert(offsetof(struct kho_vmalloc, order) == 14, "offsetof(struct kho_vmalloc, order)");

struct kho_vmalloc_hdr {
	uint64_t next; /* physical address, 0 = none; Next chunk page. */
};
static_assert(sizeof(struct kho_vmalloc_hdr) == 8, "sizeof(struct kho_vmalloc_hdr)");
static_assert(offsetof(struct kho_vmalloc_hdr, next) == 0, "offsetof(struct kho_vmalloc_hdr, next)");

struct kho_vmalloc_chunk {
	struct kho_vmalloc_hdr hdr;
	uint64_t phys[511]; /* Physical address of each 2^order-page group, ended by the first 0. */
};
static_assert(sizeof(struct kho_vmalloc_chunk) == 4096, "sizeof(struct kho_vmalloc_chunk)");
static_assert(offsetof(struct kho_vmalloc_chunk, hdr) == 0, "offsetof(struct kho_vmalloc_chunk, hdr)");
static_assert(offsetof(struct kho_vmalloc_chunk, phys) == 8, "offsetof(struct kho_vmalloc_chunk, phys)");

#endif /* KHO_ABI_KHO_VMALLOC_H */
