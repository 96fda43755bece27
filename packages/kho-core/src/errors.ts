/**
 * One error type for the whole simulator. `code` is the errno the kernel
 * would return (or the libfdt error name for FDT decoding), `where` says
 * what was being looked at: an FDT path or offset, a physical address, a
 * struct field.
 */
export type Errno =
  | "EINVAL"
  | "ENOENT"
  | "ENOMEM"
  | "ERANGE"
  | "ENOSPC"
  | "EEXIST"
  | "EPROTO"
  | "E2BIG"
  | "EBUSY"
  | "EIO"
  | "EFAULT"
  | "EOPNOTSUPP"
  | "ENODATA"
  | "EHWPOISON"
  | "EPERM"
  | "EACCES"
  | "ENOTDIR"
  | "EISDIR"
  | "EFBIG"
  | "ELOOP"
  | "ENAMETOOLONG";

export const ERRNO_VALUES: Readonly<Record<Errno, number>> = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  E2BIG: 7,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ELOOP: 40,
  ENODATA: 61,
  EPROTO: 71,
  EOPNOTSUPP: 95,
  EHWPOISON: 133,
};

export class KhoError extends Error {
  override readonly name: string = "KhoError";
  constructor(
    readonly code: Errno,
    message: string,
    readonly where?: string,
  ) {
    super(where === undefined ? message : `${message} (at ${where})`);
  }

  /** The negative errno a kernel function would return. */
  get errno(): number {
    return -ERRNO_VALUES[this.code];
  }
}

export function isKhoError(e: unknown, code?: Errno): e is KhoError {
  return e instanceof KhoError && (code === undefined || e.code === code);
}
