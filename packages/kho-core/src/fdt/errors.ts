import { type Errno, KhoError } from "../errors.js";
import type { FdtErrName } from "./constants.js";

/**
 * A libfdt failure. `fdtErr` is libfdt's error name; `code` is the errno a
 * kernel caller would turn it into (KHO maps every write failure to ENOMEM,
 * lookups to ENOENT, corrupt input to EINVAL).
 */
export class FdtError extends KhoError {
  override readonly name = "FdtError";
  constructor(
    readonly fdtErr: FdtErrName,
    message: string,
    where?: string,
  ) {
    super(errnoFor(fdtErr), `${fdtErr}: ${message}`, where);
  }
}

function errnoFor(e: FdtErrName): Errno {
  switch (e) {
    case "FDT_ERR_NOTFOUND":
      return "ENOENT";
    case "FDT_ERR_EXISTS":
      return "EEXIST";
    case "FDT_ERR_NOSPACE":
      return "ENOMEM";
    default:
      return "EINVAL";
  }
}
