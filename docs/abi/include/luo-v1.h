/* SPDX-License-Identifier: GPL-2.0-only */
/* Live Update Orchestrator, FDT form (luo-v1): generated from the khosim ABI schema "luo-v1" (PAGE_SIZE 4096). */
#ifndef KHO_ABI_LUO_V1_H
#define KHO_ABI_LUO_V1_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __packed
#define __packed __attribute__((__packed__))
#endif

#define LUO_FDT_COMPATIBLE "luo-v1"
#define LUO_FDT_LIVEUPDATE_NUM "liveupdate-number"
#define LUO_FDT_SESSION_NODE_NAME "luo-session"
#define LUO_FDT_SESSION_COMPATIBLE "luo-session-v2"

struct luo_session_header_ser {
	uint64_t count; /* Entries of struct luo_session_ser that follow the header. */
} __packed;
static_assert(sizeof(struct luo_session_header_ser) == 8, "sizeof(struct luo_session_header_ser)");
static_assert(offsetof(struct luo_session_header_ser, count) == 0, "offsetof(struct luo_session_header_ser, count)");

#endif /* KHO_ABI_LUO_V1_H */
