import { join } from "node:path";
import { KhoError } from "../errors.js";

/**
 * Why a name from an input (an image, a debugfs copy, a plugin) may not
 * become one path segment under a folder this program writes to: null when
 * it may. Empty, `.` and `..` are refused, as is any `/` or NUL, so a name
 * can neither climb out nor reach into a subfolder. These are the names
 * debugfs itself refuses (`lookup_one_len`: EACCES).
 */
export function unsafeSegment(name: string): string | null {
  if (name === "") return "an empty name";
  if (name === "." || name === "..") return `"${name}"`;
  if (name.includes("/")) return `a name with "/"`;
  if (name.includes("\0")) return "a name with NUL";
  return null;
}

/**
 * `dir` joined with `segments`, each of which must pass `unsafeSegment`;
 * anything else is EINVAL naming the segment. Every command that writes
 * files under a folder it was given builds its paths here, so whatever
 * names an input holds, nothing lands outside `dir`.
 */
export function pathInside(dir: string, ...segments: readonly string[]): string {
  for (const s of segments) {
    const why = unsafeSegment(s);
    if (why !== null)
      throw new KhoError("EINVAL", `refusing to write ${JSON.stringify(segments.join("/"))}: ${why}`, dir);
  }
  return join(dir, ...segments);
}
