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
  | "EBADF"
  | "EBUSY"
  | "EIO"
  | "EFAULT"
  | "ENOTTY"
  | "EOPNOTSUPP"
  | "ENODATA"
  | "EHWPOISON";

export const ERRNO_VALUES: Readonly<Record<Errno, number>> = {
  ENOENT: 2,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOTTY: 25,
  ENOSPC: 28,
  ERANGE: 34,
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
