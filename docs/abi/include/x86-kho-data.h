/* SPDX-License-Identifier: GPL-2.0-only */
/* x86 KHO boot record: generated from the khosim ABI schema "x86-kho-data" (PAGE_SIZE 4096). */
#ifndef KHO_ABI_X86_KHO_DATA_H
#define KHO_ABI_X86_KHO_DATA_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __packed
#define __packed __attribute__((__packed__))
#endif

#define SETUP_KEXEC_KHO 10

struct kho_data {
	uint64_t fdt_addr; /* physical address, 0 = none; Root KHO FDT. */
	uint64_t fdt_size; /* Length of the root FDT buffer: PAGE_SIZE. */
	uint64_t scratch_addr; /* physical address, 0 = none; The copied `struct kho_scratch` array. */
	uint64_t scratch_size; /* Bytes of the scratch array: 16 per area. */
} __packed;
static_assert(sizeof(struct kho_data) == 32, "sizeof(struct kho_data)");
static_assert(offsetof(struct kho_data, fdt_addr) == 0, "offsetof(struct kho_data, fdt_addr)");
static_assert(offsetof(struct kho_data, fdt_size) == 8, "offsetof(struct kho_data, fdt_size)");
static_assert(offsetof(struct kho_data, scratch_addr) == 16, "offsetof(struct kho_data, scratch_addr)");
static_assert(offsetof(struct kho_data, scratch_size) == 24, "offsetof(struct kho_data, scratch_size)");

struct setup_data {
	uint64_t next; /* physical address, 0 = none; Next setup_data entry. */
	uint32_t type; /* Entry type; 10 (SETUP_KEXEC_KHO) for the KHO record. */
	uint32_t len; /* Payload bytes after this header; 32 for the KHO record. */
};
static_assert(sizeof(struct setup_data) == 16, "sizeof(struct setup_data)");
static_assert(offsetof(struct setup_data, next) == 0, "offsetof(struct setup_data, next)");
static_assert(offsetof(struct setup_data, type) == 8, "offsetof(struct setup_data, type)");
static_assert(offsetof(struct setup_data, len) == 12, "offsetof(struct setup_data, len)");

#endif /* KHO_ABI_X86_KHO_DATA_H */
