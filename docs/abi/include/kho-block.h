/* SPDX-License-Identifier: GPL-2.0-only */
/* KHO serialization blocks: generated from the khosim ABI schema "kho-block" (PAGE_SIZE 4096). */
#ifndef KHO_ABI_KHO_BLOCK_H
#define KHO_ABI_KHO_BLOCK_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __packed
#define __packed __attribute__((__packed__))
#endif

#define KHO_BLOCK_MAX_BLOCKS 10000

struct kho_block_header_ser {
	uint64_t next; /* physical address, 0 = none; Next block header of the chain. */
	uint64_t count; /* Entries in use in this block; they follow the header back to back. */
} __packed;
static_assert(sizeof(struct kho_block_header_ser) == 16, "sizeof(struct kho_block_header_ser)");
static_assert(offsetof(struct kho_block_header_ser, next) == 0, "offsetof(struct kho_block_header_ser, next)");
static_assert(offsetof(struct kho_block_header_ser, count) == 8, "offsetof(struct kho_block_header_ser, count)");

#endif /* KHO_ABI_KHO_BLOCK_H */
