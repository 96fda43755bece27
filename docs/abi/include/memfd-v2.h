/* SPDX-License-Identifier: GPL-2.0-only */
/* memfd file handler (memfd-v2): generated from the khosim ABI schema "memfd-v2" (PAGE_SIZE 4096). */
#ifndef KHO_ABI_MEMFD_V2_H
#define KHO_ABI_MEMFD_V2_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __packed
#define __packed __attribute__((__packed__))
#endif

#define MEMFD_LUO_FH_COMPATIBLE "memfd-v2"
#define MEMFD_LUO_ALL_SEALS 63
#define MEMFD_LUO_FOLIO_DIRTY 1
#define MEMFD_LUO_FOLIO_UPTODATE 2

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

struct memfd_luo_ser {
	uint64_t pos; /* File position, refreshed at freeze. */
	uint64_t size; /* i_size in bytes. */
	uint32_t seals; /* F_SEAL_* bits, a subset of MEMFD_LUO_ALL_SEALS. */
	uint32_t flags; /* Must be 0. */
	uint64_t nr_folios; /* Entries of the folio array; 0 for an empty file. */
	struct kho_vmalloc folios;
} __packed;
static_assert(sizeof(struct memfd_luo_ser) == 48, "sizeof(struct memfd_luo_ser)");
static_assert(offsetof(struct memfd_luo_ser, pos) == 0, "offsetof(struct memfd_luo_ser, pos)");
static_assert(offsetof(struct memfd_luo_ser, size) == 8, "offsetof(struct memfd_luo_ser, size)");
static_assert(offsetof(struct memfd_luo_ser, seals) == 16, "offsetof(struct memfd_luo_ser, seals)");
static_assert(offsetof(struct memfd_luo_ser, flags) == 20, "offsetof(struct memfd_luo_ser, flags)");
static_assert(offsetof(struct memfd_luo_ser, nr_folios) == 24, "offsetof(struct memfd_luo_ser, nr_folios)");
static_assert(offsetof(struct memfd_luo_ser, folios) == 32, "offsetof(struct memfd_luo_ser, folios)");

struct memfd_luo_folio_ser {
	uint64_t pfn_flags; /* Bits 0-51: pfn of the folio's head page (0: skipped); bits 52-63: flags. */
	uint64_t index; /* Page offset of the folio in the file. */
} __packed;
static_assert(sizeof(struct memfd_luo_folio_ser) == 16, "sizeof(struct memfd_luo_folio_ser)");
static_assert(offsetof(struct memfd_luo_folio_ser, pfn_flags) == 0, "offsetof(struct memfd_luo_folio_ser, pfn_flags)");
static_assert(offsetof(struct memfd_luo_folio_ser, index) == 8, "offsetof(struct memfd_luo_folio_ser, index)");

#endif /* KHO_ABI_MEMFD_V2_H */
