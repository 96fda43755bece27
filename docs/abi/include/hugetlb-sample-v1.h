/* SPDX-License-Identifier: GPL-2.0-only */
/* hugetlb sample, version 1: generated from the khosim ABI schema "hugetlb-sample-v1" (PAGE_SIZE 4096). */
#ifndef KHO_ABI_HUGETLB_SAMPLE_V1_H
#define KHO_ABI_HUGETLB_SAMPLE_V1_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __packed
#define __packed __attribute__((__packed__))
#endif

#define HUGETLB_SAMPLE_NODE_NAME "hugetlb-sample"
#define HUGETLB_SAMPLE_V1_COMPATIBLE "hugetlb-sample-v1"
#define HUGETLB_SAMPLE_COMPATIBLE_LEN 32
#define HUGETLB_SAMPLE_MAX_HSTATES 4
#define HUGETLB_SAMPLE_FOLIO_PINNED 1

struct hugetlb_sample_hstate_ser {
	uint32_t order; /* Folio order of this size: log2 of base pages per huge page. */
	uint32_t reserved; /* 0; a reader refuses anything else. */
	uint64_t nr_folios; /* Entries of this order in the chain. Known from the header alone, so the next kernel can lower its boot-time allocation of this size by what comes back instead of over-allocating; the reader also checks the chain against it (a short chain is refused). */
} __packed;
static_assert(sizeof(struct hugetlb_sample_hstate_ser) == 16, "sizeof(struct hugetlb_sample_hstate_ser)");
static_assert(offsetof(struct hugetlb_sample_hstate_ser, order) == 0, "offsetof(struct hugetlb_sample_hstate_ser, order)");
static_assert(offsetof(struct hugetlb_sample_hstate_ser, reserved) == 4, "offsetof(struct hugetlb_sample_hstate_ser, reserved)");
static_assert(offsetof(struct hugetlb_sample_hstate_ser, nr_folios) == 8, "offsetof(struct hugetlb_sample_hstate_ser, nr_folios)");

struct hugetlb_sample_ser {
	char compatible[32]; /* "hugetlb-sample-v1", NUL-padded: which version of the descriptor this is. */
	uint64_t total_pages; /* Base pages of all listed folios. Stable prefix: a kernel that refuses this version still reports how much memory stays reserved for nobody. */
	uint64_t entries; /* physical address, 0 = none; Head of the kho_block chain of struct hugetlb_sample_folio_ser entries; 0 when no folio is listed. */
	uint32_t nr_hstates; /* hstates[] entries in use, at most 4. */
	uint32_t reserved; /* 0; a reader refuses anything else. */
	struct hugetlb_sample_hstate_ser hstates[4]; /* Per huge page size, ascending order; unused slots are zero. */
} __packed;
static_assert(sizeof(struct hugetlb_sample_ser) == 120, "sizeof(struct hugetlb_sample_ser)");
static_assert(offsetof(struct hugetlb_sample_ser, compatible) == 0, "offsetof(struct hugetlb_sample_ser, compatible)");
static_assert(offsetof(struct hugetlb_sample_ser, total_pages) == 32, "offsetof(struct hugetlb_sample_ser, total_pages)");
static_assert(offsetof(struct hugetlb_sample_ser, entries) == 40, "offsetof(struct hugetlb_sample_ser, entries)");
static_assert(offsetof(struct hugetlb_sample_ser, nr_hstates) == 48, "offsetof(struct hugetlb_sample_ser, nr_hstates)");
static_assert(offsetof(struct hugetlb_sample_ser, reserved) == 52, "offsetof(struct hugetlb_sample_ser, reserved)");
static_assert(offsetof(struct hugetlb_sample_ser, hstates) == 56, "offsetof(struct hugetlb_sample_ser, hstates)");

struct hugetlb_sample_folio_ser {
	uint64_t pfn; /* Head page frame, aligned to the order. The folio is one radix key (pfn, order) from kho_preserve_folio(); the next kernel passes PFN_PHYS(pfn) to kho_restore_folio(). */
	uint64_t owner; /* Token of the user holding the folio (a VMM's guest id); 0 for a free folio of the pool. Handed back unchanged so the user finds its memory again. */
	uint32_t node; /* NUMA node the folio was counted on. The reader compares it with the node the pfn lies on: a different memory layout after kexec is refused instead of miscounting per-node pools. */
	uint16_t order; /* Folio order; must match an hstate of the header and the order kho_restore_folio() returns. */
	uint16_t flags; /* HUGETLB_SAMPLE_FOLIO_PINNED (bit 0); other bits are refused. */
} __packed;
static_assert(sizeof(struct hugetlb_sample_folio_ser) == 24, "sizeof(struct hugetlb_sample_folio_ser)");
static_assert(offsetof(struct hugetlb_sample_folio_ser, pfn) == 0, "offsetof(struct hugetlb_sample_folio_ser, pfn)");
static_assert(offsetof(struct hugetlb_sample_folio_ser, owner) == 8, "offsetof(struct hugetlb_sample_folio_ser, owner)");
static_assert(offsetof(struct hugetlb_sample_folio_ser, node) == 16, "offsetof(struct hugetlb_sample_folio_ser, node)");
static_assert(offsetof(struct hugetlb_sample_folio_ser, order) == 20, "offsetof(struct hugetlb_sample_folio_ser, order)");
static_assert(offsetof(struct hugetlb_sample_folio_ser, flags) == 22, "offsetof(struct hugetlb_sample_folio_ser, flags)");

struct kho_block_header_ser {
	uint64_t next; /* physical address, 0 = none; Next block header of the chain. */
	uint64_t count; /* Entries in use in this block; they follow the header back to back. */
} __packed;
static_assert(sizeof(struct kho_block_header_ser) == 16, "sizeof(struct kho_block_header_ser)");
static_assert(offsetof(struct kho_block_header_ser, next) == 0, "offsetof(struct kho_block_header_ser, next)");
static_assert(offsetof(struct kho_block_header_ser, count) == 8, "offsetof(struct kho_block_header_ser, count)");

#endif /* KHO_ABI_HUGETLB_SAMPLE_V1_H */
