import { mkdirSync, realpathSync, statfsSync, statSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import { FileError, fileError } from "./error.js";

/** Mount points of the kernel's pseudo file systems: their files are interfaces, not storage. */
const PSEUDO_ROOTS = ["/proc", "/sys", "/dev"];

/** statfs magic numbers of pseudo file systems (PROC_SUPER_MAGIC, SYSFS_MAGIC, DEBUGFS_MAGIC, TRACEFS_MAGIC). */
const PSEUDO_MAGIC = new Set([0x9fa0, 0x62656572, 0x64626720, 0x74726163]);

/** The deepest part of `path` that exists, resolved through symlinks. */
function existingAncestor(path: string): string {
  let p = resolve(path);
  for (;;) {
    try {
      return realpathSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const up = dirname(p);
      if (code !== "ENOENT" || up === p) throw fileError(e, path, "resolve it");
      p = up;
    }
  }
}

function underPseudo(real: string): boolean {
  if (PSEUDO_ROOTS.some((r) => real === r || real.startsWith(`${r}${sep}`))) return true;
  try {
    return PSEUDO_MAGIC.has(Number(statfsSync(real).type));
  } catch {
    // A path statfs cannot look at is judged by its name alone.
    return false;
  }
}

/**
 * Makes `dir` ready to receive output: refused when it, or where it would be
 * created, lies on /proc, /sys, /dev or another pseudo file system (writing
 * there talks to the kernel); EEXIST when it exists as something other than
 * a directory; a file in the way of a parent is ENOTDIR. Creates it (and its
 * parents) otherwise.
 */
export function prepareOutputDir(dir: string): void {
  const real = existingAncestor(dir);
  if (underPseudo(real))
    throw new FileError("EACCES", `lies on a pseudo file system (${real}): refusing to write there`, dir);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(dir, { throwIfNoEntry: false });
  } catch (e) {
    throw fileError(e, dir, "use it as the output folder");
  }
  if (st && !st.isDirectory()) throw new FileError("EEXIST", "exists and is not a directory", dir);
  if (st) return;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fileError(e, dir, "create the output folder");
  }
}
