import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ABI_PAGE_SIZES, generateCHeader, renderAbiDocs } from "@khosim/kho-core";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { ALL_ABIS } from "../src/schemas.js";
import { capture } from "./helpers/io.js";

const tmp = mkdtempSync(join(tmpdir(), "khosim-cli-abi-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("kho abi", () => {
  it("docs/abi/ is exactly what `kho abi docs` writes (run `npm run docs` after changing a schema)", () => {
    const dir = resolve(import.meta.dirname, "../../../docs/abi");
    const want = renderAbiDocs(ALL_ABIS);
    expect(readdirSync(dir).sort()).toEqual([...want.keys()].sort());
    for (const [name, text] of want)
      expect(readFileSync(join(dir, name), "utf8"), `docs/abi/${name} is stale`).toBe(text);
  });

  it("docs --out writes every page and removes pages of ABIs that are gone", async () => {
    const out = join(tmp, "docs");
    const io = capture();
    expect(await main(["abi", "docs", "--out", out], io)).toBe(0);
    writeFileSync(join(out, "gone.md"), "old");
    expect(await main(["abi", "docs", "--out", out], capture())).toBe(0);
    expect(readdirSync(out).sort()).toEqual([...renderAbiDocs(ALL_ABIS).keys()].sort());
    expect(io.stdout).toMatch(/^wrote \d+ files to /);
  });

  it("lists every ABI with its kind, format, version and compatible strings", async () => {
    const io = capture();
    expect(await main(["abi", "list"], io)).toBe(0);
    expect(io.stdout).toContain("kexec-metadata\tsubtree\tstruct\t1\tkexec-metadata-v1\tkexec metadata\n");
    expect(io.stdout).toContain("kho-root\tcore\tfdt\tkho-v4\tkho-v4\tRoot KHO FDT\n");
    expect(io.stdout).toContain("LUO\tsubtree\tstruct\tluo-v5\tluo-v5\tLive Update Orchestrator\n");
    expect(io.stdout).toContain("memfd\tsubtree\tstruct\tmemfd-v2\tmemfd-v2\tmemfd file handler (memfd-v2)\n");
    expect(io.stdout.trim().split("\n")).toHaveLength(ALL_ABIS.length);
  });

  it("prints a subtree's Markdown, C header per page size and JSON Schema", async () => {
    const doc = capture();
    expect(await main(["abi", "doc", "kexec-metadata"], doc)).toBe(0);
    expect(doc.stdout).toContain("| 69 | 4 | `u32` | `kexec_count` |");
    const h = capture();
    expect(await main(["abi", "header", "kho-vmalloc", "--page-size", "64KiB"], h)).toBe(0);
    expect(h.stdout).toContain("uint64_t phys[8191];");
    const js = capture();
    expect(await main(["abi", "json-schema", "kexec-metadata"], js)).toBe(0);
    expect(JSON.parse(js.stdout)).toMatchObject({ type: "object", properties: { kexec_count: { type: "integer" } } });
  });

  it("rejects unknown ABIs, subcommands and page sizes with usage errors", async () => {
    for (const args of [
      ["abi", "doc", "nope"],
      ["abi", "frobnicate"],
      ["abi", "header", "kho-block", "--page-size", "8KiB"],
      ["abi", "docs"],
    ]) {
      const io = capture();
      expect(await main(args, io), args.join(" ")).toBe(2);
      expect(io.stderr).toMatch(/^kho abi: /);
    }
  });

  it.each(ALL_ABIS.flatMap((s) => ABI_PAGE_SIZES.map((ps) => [s.name, ps] as const)))(
    "the C header of %s (PAGE_SIZE %d) compiles with gcc -Wall -Werror and its static_asserts hold",
    (name, ps) => {
      const schema = ALL_ABIS.find((s) => s.name === name)!;
      const source = join(tmp, `${name}-${ps}.c`);
      writeFileSync(source, `${generateCHeader(schema, { pageSize: ps })}\nint main(void) { return 0; }\n`);
      // No skip when gcc is missing: execFileSync throws ENOENT and the test fails.
      execFileSync("gcc", ["-std=c11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", source], { stdio: "pipe" });
    },
  );
});
