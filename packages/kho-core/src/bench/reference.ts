import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

/** A program built from the reference's source: its arguments also get the source's path. */
export interface ReferenceBuild extends Omit<CBuild, "args"> {
  /** Compiler arguments before `-o <binary>`, given the reference source and the build folder. */
  readonly args: (src: string, dir: string) => readonly string[];
}

const builds = new Map<string, string>();

/** A C program the bench compiles for itself (the radix reference, the libfdt harness). */
export interface CBuild {
  /** The binary's file name; also names the temporary folder (khosim-<name>-). */
  readonly name: string;
  /** What is being built, for error messages. */
  readonly what: string;
  /** Files written into the build folder before compiling, by file name. */
  readonly files?: Readonly<Record<string, string>>;
  /** Compiler arguments before `-o <binary>`, given the build folder. */
  readonly args: (dir: string) => readonly string[];
  /** A plainer reason for a failed build, from the compiler's stderr (e.g. a missing library), or null. */
  readonly explain?: (stderr: string) => string | null;
}

/**
 * Compiles a C program with `CC` (else cc) into a temporary folder, once
 * per process, compiler and name (removed at exit), and returns the
 * binary's path. Throws what is missing (the compiler, or what `explain`
 * finds) or the compiler's first line of output: comparisons against an
 * independent implementation must fail, not pass vacuously.
 */
export function compileC(b: CBuild): string {
  const cc = process.env.CC ?? "cc";
  const key = `${cc}\0${b.name}`;
  const done = builds.get(key);
  if (done !== undefined) return done;
  const dir = mkdtempSync(join(tmpdir(), `khosim-${b.name.replaceAll("_", "-")}-`));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  for (const [file, text] of Object.entries(b.files ?? {})) writeFileSync(join(dir, file), text);
  const out = join(dir, b.name);
  try {
    execFileSync(cc, [...b.args(dir), "-o", out], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const { code, stderr } = e as { code?: string; stderr?: Buffer };
    const text = stderr?.toString() ?? "";
    if (code === "ENOENT") throw new Error(`no C compiler ${cc} (set CC) to build ${b.what}`);
    throw new Error(b.explain?.(text) ?? `cannot build ${b.what} with ${cc}: ${text.split("\n")[0] ?? ""}`);
  }
  builds.set(key, out);
  return out;
}

/** Builds a program from the C reference's source (see compileC); throws when the source is missing. */
export function buildReference(b: ReferenceBuild): string {
  const src = referenceSource();
  if (!existsSync(src)) throw new Error(`C reference not found at ${src} (set KHOSIM_REFERENCE_SRC)`);
  return compileC({ ...b, args: (dir) => b.args(src, dir) });
}

/** The reference program itself (its `count` and `keys` commands); see buildReference. */
export function referenceBinary(): string {
  return buildReference({
    name: "radix_ref",
    what: "the C reference",
    args: (src) => ["-O2", "-Wall", "-Wextra", "-std=gnu11", src],
  });
}

/**
 * The reference timed in CPU time: its source included after CLOCK_MONOTONIC
 * is redefined as the process CPU clock, so every time it reports is CPU
 * time rather than wall time (see BenchClock). The source is not changed.
 */
export function referenceCpuBinary(): string {
  return buildReference({
    name: "radix_ref_cpu",
    what: "the C reference (CPU clock)",
    files: {
      "radix_ref_cpu.c": [
        "#include <time.h>",
        "#undef CLOCK_MONOTONIC",
        "#define CLOCK_MONOTONIC CLOCK_PROCESS_CPUTIME_ID",
        '#include "radix_ref.c"',
        "",
      ].join("\n"),
    },
    args: (src, dir) => ["-O2", "-Wall", "-Wextra", "-std=gnu11", "-I", dirname(src), join(dir, "radix_ref_cpu.c")],
  });
}

/** Runs the reference with `args` and returns its standard output. */
export function runReference(args: readonly string[]): string {
  return execFileSync(referenceBinary(), args, {
    encoding: "utf8",
    maxBuffer: 1 << 30,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

const TIME = "/usr/bin/time";

/** What one run of the reference printed, and its peak RSS (KiB) when /usr/bin/time could measure it. */
export interface ReferenceRun {
  readonly out: string;
  readonly maxRssKiB: number | null;
}

/**
 * Runs the reference (`binary`, the plain one by default) with `args` under
 * /usr/bin/time (when present) so that its peak RSS is known as well as
 * what it prints.
 */
export function runReferenceMeasured(args: readonly string[], binary = referenceBinary()): ReferenceRun {
  if (!existsSync(TIME))
    return { out: execFileSync(binary, args, { encoding: "utf8", maxBuffer: 1 << 30 }), maxRssKiB: null };
  const dir = mkdtempSync(join(tmpdir(), "khosim-bench-"));
  try {
    const f = join(dir, "rss");
    const out = execFileSync(TIME, ["-f", "%M", "-o", f, binary, ...args], {
      encoding: "utf8",
      maxBuffer: 1 << 30,
      stdio: ["ignore", "pipe", "pipe"],
    });
    return { out, maxRssKiB: Number(readFileSync(f, "utf8").trim().split("\n").at(-1)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
