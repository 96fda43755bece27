import { ERRNO_VALUES, type Errno, KhoError } from "../errors.js";

/**
 * A file the command was given cannot be used: the file-system error, or a
 * refusal (not a regular file, too large, a pseudo file system), naming the
 * path. Its message is one line, so a command can print it as is.
 */
export class FileError extends KhoError {
  override readonly name = "FileError";
  constructor(
    code: Errno,
    /** What is wrong with the file, without its path. */
    readonly reason: string,
    readonly path: string,
  ) {
    super(code, `${path}: ${reason}`);
  }
}

function isErrno(code: unknown): code is Errno {
  return typeof code === "string" && Object.hasOwn(ERRNO_VALUES, code);
}

/** Wraps what node:fs threw as a FileError with the same code (EIO for codes the project does not name). */
export function fileError(e: unknown, path: string, doing: string): FileError {
  if (e instanceof FileError) return e;
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const known = isErrno(code) ? code : "EIO";
  const why = code === "ELOOP" ? "too many levels of symbolic links" : (code ?? String(e));
  return new FileError(known, `cannot ${doing}: ${why}`, path);
}
