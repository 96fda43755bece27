import { defineAbi, defineStruct, field } from "@khosim/kho-core";
import { LIVEUPDATE_SESSION_NAME_LENGTH } from "./luo.js";

/** LIVEUPDATE_IOCTL_TYPE: the ioctl type byte of /dev/liveupdate and session fds. */
export const LIVEUPDATE_IOCTL_TYPE = 0xba;
/** First command number of the device and of session fds. */
export const LIVEUPDATE_CMD_BASE = 0x00;
export const LIVEUPDATE_CMD_SESSION_BASE = 0x40;

/** _IO(LIVEUPDATE_IOCTL_TYPE, nr): no direction or size bits, as liveupdate.h defines its commands. */
export function liveupdateIo(nr: number): number {
  return (LIVEUPDATE_IOCTL_TYPE << 8) | nr;
}

export const LIVEUPDATE_IOCTL_CREATE_SESSION = liveupdateIo(LIVEUPDATE_CMD_BASE + 0);
export const LIVEUPDATE_IOCTL_RETRIEVE_SESSION = liveupdateIo(LIVEUPDATE_CMD_BASE + 1);
export const LIVEUPDATE_SESSION_PRESERVE_FD = liveupdateIo(LIVEUPDATE_CMD_SESSION_BASE + 0);
export const LIVEUPDATE_SESSION_RETRIEVE_FD = liveupdateIo(LIVEUPDATE_CMD_SESSION_BASE + 1);
export const LIVEUPDATE_SESSION_FINISH = liveupdateIo(LIVEUPDATE_CMD_SESSION_BASE + 2);
export const LIVEUPDATE_SESSION_GET_NAME = liveupdateIo(LIVEUPDATE_CMD_SESSION_BASE + 3);

const size = () =>
  field.u32({ doc: "sizeof the struct as userspace knows it; the kernel needs at least its minimum." });

export const liveupdate_ioctl_create_session = defineStruct(
  "liveupdate_ioctl_create_session",
  {
    size: size(),
    fd: field.u32({ doc: "Out: the new session fd (O_CLOEXEC)." }),
    name: field.bytes(LIVEUPDATE_SESSION_NAME_LENGTH, { doc: "1 to 63 bytes and a NUL." }),
  },
  { packed: false },
);

export const liveupdate_ioctl_retrieve_session = defineStruct(
  "liveupdate_ioctl_retrieve_session",
  {
    size: size(),
    fd: field.u32({ doc: "Out: the session fd." }),
    name: field.bytes(LIVEUPDATE_SESSION_NAME_LENGTH, { doc: "The name, compared over 64 bytes." }),
  },
  { packed: false },
);

export const liveupdate_session_preserve_fd = defineStruct(
  "liveupdate_session_preserve_fd",
  {
    size: size(),
    fd: field.u32({ doc: "The fd to preserve." }),
    token: field.u64({ doc: "Unique in the session." }),
  },
  { packed: false },
);

export const liveupdate_session_retrieve_fd = defineStruct(
  "liveupdate_session_retrieve_fd",
  {
    size: size(),
    fd: field.u32({ doc: "Out: a new fd to the file." }),
    token: field.u64({ doc: "The token given at preserve." }),
  },
  { packed: false },
);

export const liveupdate_session_finish = defineStruct(
  "liveupdate_session_finish",
  { size: size(), reserved: field.u32({ doc: "Not checked at rc1 (spec B.8)." }) },
  { packed: false },
);

export const liveupdate_session_get_name = defineStruct(
  "liveupdate_session_get_name",
  {
    size: size(),
    reserved: field.u32({ doc: "Must be 0." }),
    name: field.bytes(LIVEUPDATE_SESSION_NAME_LENGTH, { doc: "Out: the session name, NUL-terminated." }),
  },
  { packed: false },
);

export const liveupdateUapi = defineAbi({
  name: "liveupdate-uapi",
  kind: "core",
  title: "/dev/liveupdate ioctls",
  summary:
    "The argument structs of the LUO ioctls (include/uapi/linux/liveupdate.h). Every struct starts " +
    "with its size: the kernel refuses less than its minimum (EINVAL), refuses non-zero bytes past what " +
    "it knows (E2BIG), and copies back min(size, its struct size).",
  version: "v7.2-rc1",
  layout: liveupdate_ioctl_create_session,
  related: [
    liveupdate_ioctl_retrieve_session,
    liveupdate_session_preserve_fd,
    liveupdate_session_retrieve_fd,
    liveupdate_session_finish,
    liveupdate_session_get_name,
  ],
  defines: {
    LIVEUPDATE_IOCTL_TYPE,
    LIVEUPDATE_IOCTL_CREATE_SESSION,
    LIVEUPDATE_IOCTL_RETRIEVE_SESSION,
    LIVEUPDATE_SESSION_PRESERVE_FD,
    LIVEUPDATE_SESSION_RETRIEVE_FD,
    LIVEUPDATE_SESSION_FINISH,
    LIVEUPDATE_SESSION_GET_NAME,
  },
});
