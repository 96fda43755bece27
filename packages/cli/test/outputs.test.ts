import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { capture } from "./helpers/io.js";

const dir = mkdtempSync(join(tmpdir(), "khosim-cli-out-"));

describe("issue 13: files and folders the command cannot use", () => {
  it("abi docs --out under /proc is refused (EACCES), one line, exit 2, instead of spinning", async () => {
    const io = capture();
    expect(await main(["abi", "docs", "--out", "/proc/khosim-docs"], io)).toBe(2);
    expect(io.stderr).toMatch(/^kho abi docs: EACCES: \/proc\/khosim-docs: [^\n]*pseudo file system[^\n]*\n$/);
  });

  it("abi docs --out naming an existing file is EEXIST, exit 2", async () => {
    const f = join(dir, "a-file");
    writeFileSync(f, "x");
    const io = capture();
    expect(await main(["abi", "docs", "--out", f], io)).toBe(2);
    expect(io.stderr).toMatch(/^kho abi docs: EEXIST: [^\n]*a-file: exists and is not a directory\n$/);
  });

  it("image info of /dev/zero is refused before reading (EINVAL), exit 2", async () => {
    const io = capture();
    expect(await main(["image", "info", "/dev/zero"], io)).toBe(2);
    expect(io.stderr).toBe("kho image info: EINVAL: /dev/zero: is a character device, expected a regular file\n");
  });
});
