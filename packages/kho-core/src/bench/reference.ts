import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The C reference of the radix tree lives beside the repository (read-only);
 * KHOSIM_REFERENCE_SRC names another copy of radix_ref.c.
 */
export function referenceSource(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return process.env.KHOSIM_REFERENCE_SRC ?? resolve(here, "../../../../../shared/reference/radix_ref.c");
}

let built: string | undefined;

/**
 * Compiles the reference into a temporary folder (once per process, removed
 * at exit) and returns the binary's path. Throws with the compiler's output
 * when there is no source or no working C compiler: comparisons against the
 * reference must fail, not pass vacuously.
 */
export function referenceBinary(): string {
  if (built !== undefined) return built;
  const src = referenceSource();
  if (!existsSync(src)) throw new Error(`C reference not found at ${src} (set KHOSIM_REFERENCE_SRC)`);
  const dir = mkdtempSync(join(tmpdir(), "khosim-radix-ref-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, "radix_ref");
  const cc = process.env.CC ?? "cc";
  try {
    execFileSync(cc, ["-O2", "-Wall", "-Wextra", "-std=gnu11", "-o", out, src], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new Error(`cannot build the C reference with ${cc}: ${detail}`);
  }
  built = out;
  return out;
}

/** Runs the reference with `args` and returns its standard output. */
export function runReference(args: readonly string[]): string {
  return execFileSync(referenceBinary(), args, { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "pipe"] });
}
