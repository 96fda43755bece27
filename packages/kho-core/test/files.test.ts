import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileError } from "../src/fs/error.js";
import { readInputFile } from "../src/fs/input.js";
import { prepareOutputDir } from "../src/fs/output.js";

/*
 * Issue 13, file inputs and outputs: every way a path can be unusable is a
 * FileError with an errno-like code and the path, decided before anything
 * blocks or is read.
 */

const dir = mkdtempSync(join(tmpdir(), "khosim-files-"));

function fails(fn: () => unknown): FileError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FileError);
    return e as FileError;
  }
  throw new Error("expected a FileError");
}

describe("issue 13: readInputFile", () => {
  it("reads a regular file into one buffer of its size (no second copy)", () => {
    const p = join(dir, "one.bin");
    const data = Uint8Array.from({ length: 100_000 }, (_, i) => i & 0xff);
    writeFileSync(p, data);
    const got = readInputFile(p);
    expect(got).toEqual(data);
    expect(got.buffer.byteLength).toBe(data.length);
  });

  it("refuses a FIFO without a writer at once instead of blocking", () => {
    const p = join(dir, "fifo");
    expect(spawnSync("mkfifo", [p]).status).toBe(0);
    const t0 = performance.now();
    const e = fails(() => readInputFile(p));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(e.code).toBe("EINVAL");
    expect(e.message).toBe(`${p}: is a FIFO, expected a regular file`);
  });

  it("refuses /dev/zero, which never ends", () => {
    const e = fails(() => readInputFile("/dev/zero"));
    expect(e.code).toBe("EINVAL");
    expect(e.message).toContain("character device");
  });

  it("refuses a file over the size limit before reading it: a 3 GiB file is EFBIG, not ENOENT", () => {
    const p = join(dir, "big.sparse");
    const fd = openSync(p, "w");
    closeSync(fd);
    expect(spawnSync("truncate", ["-s", "3G", p]).status).toBe(0);
    const e = fails(() => readInputFile(p));
    expect(e.code).toBe("EFBIG");
    expect(e.path).toBe(p);
    expect(fails(() => readInputFile(join(dir, "one.bin"), 1000)).code).toBe("EFBIG");
  });

  it("names broken and looping symlinks, a file used as a directory and a directory used as a file", () => {
    symlinkSync(join(dir, "nowhere"), join(dir, "broken"));
    symlinkSync(join(dir, "loop-b"), join(dir, "loop-a"));
    symlinkSync(join(dir, "loop-a"), join(dir, "loop-b"));
    expect(fails(() => readInputFile(join(dir, "broken"))).code).toBe("ENOENT");
    expect(fails(() => readInputFile(join(dir, "loop-a"))).code).toBe("ELOOP");
    expect(fails(() => readInputFile(join(dir, "one.bin", "x"))).code).toBe("ENOTDIR");
    expect(fails(() => readInputFile(dir)).code).toBe("EISDIR");
    for (const p of ["broken", "loop-a"]) expect(fails(() => readInputFile(join(dir, p))).message).not.toContain("\n");
  });
});

describe("issue 13: prepareOutputDir", () => {
  it("creates a missing folder and its parents, and accepts an existing one", () => {
    const out = join(dir, "out", "a", "b");
    prepareOutputDir(out);
    prepareOutputDir(out);
  });

  it("refuses a path that exists as a file (EEXIST) or lies under a file (ENOTDIR)", () => {
    const f = join(dir, "plain");
    writeFileSync(f, "x");
    expect(fails(() => prepareOutputDir(f)).code).toBe("EEXIST");
    expect(fails(() => prepareOutputDir(join(f, "sub"))).code).toBe("ENOTDIR");
  });

  it("refuses /proc, /sys and /dev, also through a symlink", () => {
    for (const p of ["/proc/khosim-out", "/proc/self/fd", "/sys/kernel/khosim", "/dev/khosim"])
      expect(fails(() => prepareOutputDir(p)).code).toBe("EACCES");
    mkdirSync(join(dir, "links"));
    symlinkSync("/proc/self", join(dir, "links", "proc"));
    expect(fails(() => prepareOutputDir(join(dir, "links", "proc", "x"))).code).toBe("EACCES");
  });
});
