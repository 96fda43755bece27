import { defineAbi, defineFdtNode, defineStruct, field, prop } from "@khosim/kho-core";

/** KHO node name of the LUO subtree (LUO_KHO_ENTRY_NAME). */
export const LUO_KHO_ENTRY_NAME = "LUO";
/** LUO_ABI_COMPATIBLE at v7.2-rc1. */
export const LUO_ABI_COMPATIBLE = "luo-v5";
/** LIVEUPDATE_SESSION_NAME_LENGTH: room for 63 characters and the NUL. */
export const LIVEUPDATE_SESSION_NAME_LENGTH = 64;
/** LIVEUPDATE_HNDL_COMPAT_LENGTH: a file handler's compatible string and its NUL. */
export const LIVEUPDATE_HNDL_COMPAT_LENGTH = 48;
/** LIVEUPDATE_FLB_COMPAT_LENGTH: an FLB's compatible string and its NUL. */
export const LIVEUPDATE_FLB_COMPAT_LENGTH = 48;
/** Pages of the FLB area (LUO_FLB_PGCNT). */
export const LUO_FLB_PGCNT = 1;

export const luo_ser = defineStruct(
  "luo_ser",
  {
    compatible: field.charFor(LUO_ABI_COMPATIBLE, 8, { doc: 'LUO_ABI_COMPATIBLE ("luo-v5"), NUL-padded.' }),
    liveupdate_num: field.u64({ doc: "Live updates so far, counting the one this blob hands over." }),
    sessions_pa: field.phys({ doc: "First block of the session set; 0 when no session was serialised." }),
    flbs_pa: field.phys({ doc: "The FLB page (struct luo_flb_header_ser, then the entries)." }),
  },
  { packed: true },
);

export const luo_file_set_ser = defineStruct(
  "luo_file_set_ser",
  {
    files: field.phys({ doc: "First block of the session's file set; 0 when it has no files." }),
    count: field.u64({ doc: "Files serialised; the next kernel requires exactly this many entries." }),
  },
  { packed: true },
);

export const luo_session_ser = defineStruct(
  "luo_session_ser",
  {
    name: field.char(LIVEUPDATE_SESSION_NAME_LENGTH, { doc: "Session name, NUL-terminated (strscpy)." }),
    file_set_ser: luo_file_set_ser,
  },
  { packed: true },
);

export const luo_file_ser = defineStruct(
  "luo_file_ser",
  {
    compatible: field.char(LIVEUPDATE_HNDL_COMPAT_LENGTH, { doc: "Compatible string of the file handler." }),
    data: field.u64({ doc: "The handler's serialized_data (memfd: the PA of its struct memfd_luo_ser)." }),
    token: field.u64({ doc: "The token userspace gave at LIVEUPDATE_SESSION_PRESERVE_FD." }),
  },
  { packed: true },
);

export const luo_flb_header_ser = defineStruct(
  "luo_flb_header_ser",
  {
    pgcnt: field.u64({ doc: "Pages of the FLB area: LUO_FLB_PGCNT (1)." }),
    count: field.u64({ doc: "Entries that follow the header." }),
  },
  { packed: true },
);

export const luo_flb_ser = defineStruct(
  "luo_flb_ser",
  {
    name: field.char(LIVEUPDATE_FLB_COMPAT_LENGTH, { doc: "Compatible string of the FLB." }),
    data: field.u64({ doc: "What the FLB's preserve op returned." }),
    count: field.u64({ doc: "Preserved files, in all sessions, whose handler links this FLB." }),
  },
  { packed: true },
);

export const luoV5 = defineAbi({
  name: LUO_KHO_ENTRY_NAME,
  title: "Live Update Orchestrator",
  summary:
    "The root of all state LUO hands over: `struct luo_ser` as a raw subtree (blob-size 32) in a " +
    "zeroed page from kho_alloc_preserve(32), added at late_initcall. Sessions are a KHO block set of " +
    "`struct luo_session_ser` (80 bytes, 51 per 4 KiB block); each session's files are a block set of " +
    "`struct luo_file_ser` (64 bytes, 63 per block). The FLB page holds `struct luo_flb_header_ser` " +
    "and the `struct luo_flb_ser` entries. The next kernel panics on a short blob, another " +
    "compatible string, or a session chain that does not restore.",
  compatible: [LUO_ABI_COMPATIBLE],
  version: LUO_ABI_COMPATIBLE,
  history: [
    { version: "luo-v1", change: "An FDT with `liveupdate-number` and `luo-session`/`luo-flb` child nodes." },
    { version: "luo-v2", change: "The FDT holds one `luo-abi-header` pointer to `struct luo_ser` (d376e4b55c9a)." },
    { version: "luo-v3", change: "The FDT is dropped: `struct luo_ser` is the subtree (cf071b3536df)." },
    { version: "luo-v4", change: "Sessions in a block chain; the session header is gone (2a441a14c2c0)." },
    { version: "luo-v5", change: "Each session's files in a block chain (1d1153097f4d)." },
  ],
  layout: luo_ser,
  related: [luo_session_ser, luo_file_ser, luo_flb_header_ser, luo_flb_ser],
  defines: {
    LUO_KHO_ENTRY_NAME,
    LUO_ABI_COMPATIBLE,
    LIVEUPDATE_SESSION_NAME_LENGTH,
    LIVEUPDATE_HNDL_COMPAT_LENGTH,
    LIVEUPDATE_FLB_COMPAT_LENGTH,
    LUO_FLB_PGCNT,
  },
});

/** The compatible of the first LUO ABI, an FDT (LUO_FDT_COMPATIBLE before d376e4b55c9a). */
export const LUO_FDT_COMPATIBLE = "luo-v1";
export const LUO_FDT_LIVEUPDATE_NUM = "liveupdate-number";
export const LUO_FDT_SESSION_NODE_NAME = "luo-session";
export const LUO_FDT_SESSION_COMPATIBLE = "luo-session-v2";
export const LUO_FDT_SESSION_HEADER = "luo-session-header";

/**
 * The session area of the FDT form: this header, then `count` entries of
 * `struct luo_session_ser` back to back; each session's `files` points at a
 * contiguous array of `struct luo_file_ser`.
 */
export const luo_session_header_ser = defineStruct(
  "luo_session_header_ser",
  { count: field.u64({ doc: "Entries of struct luo_session_ser that follow the header." }) },
  { packed: true },
);

const luoFdtSessionNode = defineFdtNode(LUO_FDT_SESSION_NODE_NAME, {
  doc: "The preserved sessions.",
  compatible: [LUO_FDT_SESSION_COMPATIBLE],
  props: {
    [LUO_FDT_SESSION_HEADER]: prop.u64({ doc: "Physical address of struct luo_session_header_ser." }),
  } as const,
});

export const luoFdtRoot = defineFdtNode("/", {
  doc: "The LUO FDT of luo-v1.",
  compatible: [LUO_FDT_COMPATIBLE],
  props: {
    [LUO_FDT_LIVEUPDATE_NUM]: prop.u64({ doc: "Live updates so far, counting this one." }),
  } as const,
  children: luoFdtSessionNode,
  childName: LUO_FDT_SESSION_NODE_NAME,
});

/**
 * The FDT form a v7.2-rc1 kernel no longer reads (its first 8 bytes are the
 * FDT magic, not "luo-v5", so it panics). Declared so a composition can ask
 * for the reader this plugin offers as an upgrade path.
 */
export const luoV1 = defineAbi({
  name: LUO_KHO_ENTRY_NAME,
  title: "Live Update Orchestrator, FDT form (luo-v1)",
  summary:
    "The first LUO ABI: an FDT whose root carries `liveupdate-number` and a `luo-session` node pointing " +
    "at a contiguous session array (`struct luo_session_header_ser`, then `struct luo_session_ser` " +
    "entries whose `files` point at contiguous `struct luo_file_ser` arrays).",
  version: LUO_FDT_COMPATIBLE,
  layout: luoFdtRoot,
  // The entries are luo-v5's struct luo_session_ser and luo_file_ser: declared once, in luo-v5's header, so a
  // reader of both versions includes both headers in one translation unit.
  related: [luo_session_header_ser],
  defines: { LUO_FDT_COMPATIBLE, LUO_FDT_LIVEUPDATE_NUM, LUO_FDT_SESSION_NODE_NAME, LUO_FDT_SESSION_COMPATIBLE },
});
