import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from "node:fs";
import { FileError, fileError } from "./error.js";

/**
 * The largest input read by default: what one read() hands back in Linux
 * (0x7ffff000), above any DTB (libfdt keeps totalsize in an int) and any
 * image the simulator writes for the machines it models.
 */
export const MAX_INPUT_BYTES = 0x7fff_f000;

function kindOf(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/** Refuses what is not a regular file of at most `max` bytes, before a byte is read. */
function checkRegular(st: Stats, path: string, max: number): number {
  if (st.isDirectory()) throw new FileError("EISDIR", "is a directory, expected a file", path);
  // A FIFO, a device or /dev/zero never ends or blocks: only regular files have a size to trust.
  if (!st.isFile()) throw new FileError("EINVAL", `is ${kindOf(st)}, expected a regular file`, path);
  if (st.size > max) throw new FileError("EFBIG", `is ${st.size} bytes, more than the ${max} read`, path);
  return st.size;
}

/**
 * Reads a whole regular file into one buffer of its size, the one copy.
 * Broken or looping symlinks, a file where a directory is expected, FIFOs,
 * devices and files over `max` bytes are FileErrors naming the path. The
 * path is checked with stat before it is opened, and opened non-blocking, so
 * a FIFO without a writer cannot stall the read; the open file is checked
 * again in case the path changed in between.
 */
export function readInputFile(path: string, max: number = MAX_INPUT_BYTES): Uint8Array {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    throw fileError(e, path, "read it");
  }
  checkRegular(st, path, max);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw fileError(e, path, "open it");
  }
  try {
    const size = checkRegular(fstatSync(fd), path, max);
    const out = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, out, at, size - at, null);
      if (n === 0) break;
      at += n;
    }
    // A file that shrank since fstat: hand out what is there, without copying.
    return at === size ? out : out.subarray(0, at);
  } catch (e) {
    throw fileError(e, path, "read it");
  } finally {
    closeSync(fd);
  }
}
