/* SPDX-License-Identifier: GPL-2.0-only */
/* Live Update Orchestrator: generated from the khosim ABI schema "luo-v5" (PAGE_SIZE 4096). */
#ifndef KHO_ABI_LUO_V5_H
#define KHO_ABI_LUO_V5_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __packed
#define __packed __attribute__((__packed__))
#endif
#define KHO_ABI_ALIGN(x, a) ((((x) + (a) - 1) / (a)) * (a))

#define LUO_KHO_ENTRY_NAME "LUO"
#define LUO_ABI_COMPATIBLE "luo-v5"
#define LIVEUPDATE_SESSION_NAME_LENGTH 64
#define LIVEUPDATE_HNDL_COMPAT_LENGTH 48
#define LIVEUPDATE_FLB_COMPAT_LENGTH 48
#define LUO_FLB_PGCNT 1

struct luo_ser {
	char compatible[KHO_ABI_ALIGN(sizeof("luo-v5"), 8)]; /* LUO_ABI_COMPATIBLE ("luo-v5"), NUL-padded. */
	uint64_t liveupdate_num; /* Live updates so far, counting the one this blob hands over. */
	uint64_t sessions_pa; /* physical address, 0 = none; First block of the session set; 0 when no session was serialised. */
	uint64_t flbs_pa; /* physical address, 0 = none; The FLB page (struct luo_flb_header_ser, then the entries). */
} __packed;
static_assert(sizeof(struct luo_ser) == 32, "sizeof(struct luo_ser)");
static_assert(offsetof(struct luo_ser, compatible) == 0, "offsetof(struct luo_ser, compatible)");
static_assert(offsetof(struct luo_ser, liveupdate_num) == 8, "offsetof(struct luo_ser, liveupdate_num)");
static_assert(offsetof(struct luo_ser, sessions_pa) == 16, "offsetof(struct luo_ser, sessions_pa)");
static_assert(offsetof(struct luo_ser, flbs_pa) == 24, "offsetof(struct luo_ser, flbs_pa)");

struct luo_file_set_ser {
	uint64_t files; /* physical address, 0 = none; First block of the session's file set; 0 when it has no files. */
	uint64_t count; /* Files serialised; the next kernel requires exactly this many entries. */
} __packed;
static_assert(sizeof(struct luo_file_set_ser) == 16, "sizeof(struct luo_file_set_ser)");
static_assert(offsetof(struct luo_file_set_ser, files) == 0, "offsetof(struct luo_file_set_ser, files)");
static_assert(offsetof(struct luo_file_set_ser, count) == 8, "offsetof(struct luo_file_set_ser, count)");

struct luo_session_ser {
	char name[64]; /* Session name, NUL-terminated (strscpy). */
	struct luo_file_set_ser file_set_ser;
} __packed;
static_assert(sizeof(struct luo_session_ser) == 80, "sizeof(struct luo_session_ser)");
static_assert(offsetof(struct luo_session_ser, name) == 0, "offsetof(struct luo_session_ser, name)");
static_assert(offsetof(struct luo_session_ser, file_set_ser) == 64, "offsetof(struct luo_session_ser, file_set_ser)");

struct luo_file_ser {
	char compatible[48]; /* Compatible string of the file handler. */
	uint64_t data; /* The handler's serialized_data (memfd: the PA of its struct memfd_luo_ser). */
	uint64_t token; /* The token userspace gave at LIVEUPDATE_SESSION_PRESERVE_FD. */
} __packed;
static_assert(sizeof(struct luo_file_ser) == 64, "sizeof(struct luo_file_ser)");
static_assert(offsetof(struct luo_file_ser, compatible) == 0, "offsetof(struct luo_file_ser, compatible)");
static_assert(offsetof(struct luo_file_ser, data) == 48, "offsetof(struct luo_file_ser, data)");
static_assert(offsetof(struct luo_file_ser, token) == 56, "offsetof(struct luo_file_ser, token)");

struct luo_flb_header_ser {
	uint64_t pgcnt; /* Pages of the FLB area: LUO_FLB_PGCNT (1). */
	uint64_t count; /* Entries that follow the header. */
} __packed;
static_assert(sizeof(struct luo_flb_header_ser) == 16, "sizeof(struct luo_flb_header_ser)");
static_assert(offsetof(struct luo_flb_header_ser, pgcnt) == 0, "offsetof(struct luo_flb_header_ser, pgcnt)");
static_assert(offsetof(struct luo_flb_header_ser, count) == 8, "offsetof(struct luo_flb_header_ser, count)");

struct luo_flb_ser {
	char name[48]; /* Compatible string of the FLB. */
	uint64_t data; /* What the FLB's preserve op returned. */
	uint64_t count; /* Preserved files, in all sessions, whose handler links this FLB. */
} __packed;
static_assert(sizeof(struct luo_flb_ser) == 64, "sizeof(struct luo_flb_ser)");
static_assert(offsetof(struct luo_flb_ser, name) == 0, "offsetof(struct luo_flb_ser, name)");
static_assert(offsetof(struct luo_flb_ser, data) == 48, "offsetof(struct luo_flb_ser, data)");
static_assert(offsetof(struct luo_flb_ser, count) == 56, "offsetof(struct luo_flb_ser, count)");

#endif /* KHO_ABI_LUO_V5_H */
