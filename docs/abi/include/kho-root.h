/* SPDX-License-Identifier: GPL-2.0-only */
/* Root KHO FDT: generated from the khosim ABI schema "kho-root" (PAGE_SIZE 4096). */
#ifndef KHO_ABI_KHO_ROOT_H
#define KHO_ABI_KHO_ROOT_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __packed
#define __packed __attribute__((__packed__))
#endif

#define KHO_FDT_COMPATIBLE "kho-v4"
#define KHO_FDT_MEMORY_MAP_PROP_NAME "preserved-memory-map"
#define KHO_FDT_SUB_TREE_PROP_NAME "preserved-data"
#define KHO_FDT_BLOB_SIZE_PROP_NAME "blob-size"

#endif /* KHO_ABI_KHO_ROOT_H */
