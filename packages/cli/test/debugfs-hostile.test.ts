import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Machine } from "@khosim/kho-core";
import { MIN_DEBUGFS_TOTAL } from "@khosim/kho-core/debugfs";
import { FdtSw } from "@khosim/kho-core/fdt";
import { kexecToImage, writeImageFile } from "@khosim/kho-core/image";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { capture } from "./helpers/io.js";

const root = mkdtempSync(join(tmpdir(), "khosim-cli-debugfs-hostile-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `depth` nodes named `n`, each inside the one before. */
function deepDtb(depth: number): Uint8Array {
  const sw = FdtSw.create(64 + depth * 16);
  sw.finishReservemap();
  for (let i = 0; i <= depth; i++) sw.beginNode(i === 0 ? "" : "n");
  for (let i = 0; i <= depth; i++) sw.endNode();
  return sw.finish();
}

/** Bytes of every file under `dir`. */
function bytesUnder(dir: string): number {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((p) => statSync(join(dir, p)))
    .filter((s) => s.isFile())
    .reduce((n, s) => n + s.size, 0);
}

describe("issue 13: kho debugfs decode of deep blobs", () => {
  for (const depth of [3_500, 100_000]) {
    it(`a ${depth}-level sub_fdts blob: --json and the listing answer, exit 0, no stack overflow`, async () => {
      const dir = join(root, `deep-${depth}`);
      mkdirSync(join(dir, "in", "sub_fdts"), { recursive: true });
      writeFileSync(join(dir, "in", "sub_fdts", "x"), deepDtb(depth));
      const io = capture();
      expect(await main(["debugfs", "decode", dir, "--json"], io)).toBe(0);
      const r = JSON.parse(io.stdout) as { in: { subFdts: { decoded: { kind: string; note?: string } }[] } };
      expect(r.in.subFdts[0]?.decoded.kind).toBe("fdt");
      expect(r.in.subFdts[0]?.decoded.note).toContain(`${depth - 64} node(s)`);
      const text = capture();
      expect(await main(["debugfs", "decode", dir], text)).toBe(0);
      expect(text.stdout).toContain(`${depth - 64} node(s) and 0 propert(ies) omitted`);
      expect(io.stderr + text.stderr).toBe("");
    });
  }
});

describe("issue 13: kho debugfs dump of subtrees that all name one region", () => {
  it("60 subtrees on one 32 MiB region: blobs written stop at the bound, a warning per blob left out", async () => {
    const m = new Machine({ pageSize: "4KiB", ram: [{ start: 0, size: "512MiB", nid: 0 }] });
    const a = m.boot({ release: "a" });
    const size = 32 << 20;
    // Preserved, so the image carries the region; only its first page holds data.
    const pa = 256 << 20;
    a.out!.preservePages(pa, size / 4096);
    m.mem.write(pa, new TextEncoder().encode("one region, sixty names"));
    for (let i = 0; i < 60; i++) a.out!.addSubtree(`s${i}`, pa, size);
    const work = join(root, "shared");
    mkdirSync(work);
    const image = join(work, "shared.core");
    writeImageFile(image, kexecToImage(m, { release: "b" }).image);
    expect(statSync(image).size).toBeLessThan(1 << 20);

    const out = join(work, "kho");
    const io = capture();
    expect(await main(["debugfs", "dump", image, out], io)).toBe(0);
    const kept = Math.floor(MIN_DEBUGFS_TOTAL / size);
    expect(readdirSync(join(out, "in", "sub_fdts"))).toHaveLength(kept);
    expect(bytesUnder(join(out, "in", "sub_fdts"))).toBe(kept * size);
    const skipped = io.stderr.split("\n").filter((l) => l.includes("would take the copied blobs past"));
    expect(skipped).toHaveLength(60 - kept);
    expect(io.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe("issue 13: a refused input in debugfs decode, debugfs dump and radix count is one line and exit 2", () => {
  beforeAll(() => {
    writeFileSync(join(root, "a-file"), "not a folder, not an image\n");
    const m = new Machine({ pageSize: "4KiB", ram: [{ start: 0, size: "256MiB", nid: 0 }] });
    m.boot({ release: "a" });
    writeImageFile(join(root, "whole.core"), kexecToImage(m, { release: "b" }).image);
    const whole = readFileSync(join(root, "whole.core"));
    writeFileSync(join(root, "cut.core"), whole.subarray(0, whole.length >> 1));
  });
  const cases: [string, () => string[], RegExp][] = [
    ["decode of a missing folder", () => ["debugfs", "decode", join(root, "missing")], /^kho debugfs decode: ENOENT: /],
    ["decode of a file", () => ["debugfs", "decode", join(root, "a-file")], /^kho debugfs decode: ENOTDIR: /],
    [
      "dump of a file that is not ELF",
      () => ["debugfs", "dump", join(root, "a-file"), join(root, "o1")],
      /^kho debugfs dump: EIO: /,
    ],
    [
      "dump of a truncated image",
      () => ["debugfs", "dump", join(root, "cut.core"), join(root, "o2")],
      /^kho debugfs dump: E/,
    ],
    [
      "count past the address space",
      () => ["radix", "count", "--pages", "2251799813685249", "--pattern", "sparse"],
      /ERANGE.*\(at pages\)/,
    ],
    ["count with page shift 13", () => ["radix", "count", "--page-shift", "13"], /EINVAL.*\(at pageShift\)/],
  ];
  for (const [what, argv, line] of cases)
    it(what, async () => {
      const io = capture();
      expect(await main(argv(), io)).toBe(2);
      expect(io.stderr).toMatch(line);
      expect(io.stderr.trimEnd().split("\n")).toHaveLength(1);
    });
});
