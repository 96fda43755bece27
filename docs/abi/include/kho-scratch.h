/* SPDX-License-Identifier: GPL-2.0-only */
/* KHO scratch areas: generated from the khosim ABI schema "kho-scratch" (PAGE_SIZE 4096). */
#ifndef KHO_ABI_KHO_SCRATCH_H
#define KHO_ABI_KHO_SCRATCH_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __packed
#define __packed __attribute__((__packed__))
#endif

struct kho_scratch {
	uint64_t addr; /* Start of the area (phys_addr_t). */
	uint64_t size; /* Length of the area in bytes (phys_addr_t). */
};
static_assert(sizeof(struct kho_scratch) == 16, "sizeof(struct kho_scratch)");
static_assert(offsetof(struct kho_scratch, addr) == 0, "offsetof(struct kho_scratch, addr)");
static_assert(offsetof(struct kho_scratch, size) == 8, "offsetof(struct kho_scratch, size)");

#endif /* KHO_ABI_KHO_SCRATCH_H */
