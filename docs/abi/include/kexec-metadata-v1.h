/* SPDX-License-Identifier: GPL-2.0-only */
/* kexec metadata: generated from the khosim ABI schema "kexec-metadata-v1" (PAGE_SIZE 4096). */
#ifndef KHO_ABI_KEXEC_METADATA_V1_H
#define KHO_ABI_KEXEC_METADATA_V1_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __packed
#define __packed __attribute__((__packed__))
#endif

#define KHO_METADATA_NODE_NAME "kexec-metadata"
#define KHO_KEXEC_METADATA_VERSION 1

struct kho_kexec_metadata {
	uint32_t version; /* KHO_KEXEC_METADATA_VERSION (1). */
	char previous_release[65]; /* `uname -r` of the kernel that wrote the blob, NUL-terminated, truncated to 64 bytes. */
	uint32_t kexec_count; /* kexec boots since the last cold boot, counting the one this blob hands over to. */
} __packed;
static_assert(sizeof(struct kho_kexec_metadata) == 73, "sizeof(struct kho_kexec_metadata)");
static_assert(offsetof(struct kho_kexec_metadata, version) == 0, "offsetof(struct kho_kexec_metadata, version)");
static_assert(offsetof(struct kho_kexec_metadata, previous_release) == 4, "offsetof(struct kho_kexec_metadata, previous_release)");
static_assert(offsetof(struct kho_kexec_metadata, kexec_count) == 69, "offsetof(struct kho_kexec_metadata, kexec_count)");

#endif /* KHO_ABI_KEXEC_METADATA_V1_H */
