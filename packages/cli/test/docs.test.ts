import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { capture } from "./helpers/io.js";

const repo = resolve(import.meta.dirname, "../../..");
const DOCS = join(repo, "docs/abi");
const COUNTER = join(repo, "examples/counter-plugin");
const tmp = mkdtempSync(join(tmpdir(), "khosim-docs-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function docs(...args: string[]) {
  const io = capture();
  const code = await main(["docs", ...args], io);
  return { code, ...io };
}

describe("issue 12 item 7: kho docs", () => {
  it("issue 12 must-show: --check passes on the committed docs/abi (what CI runs)", async () => {
    const r = await docs("--check", "--out", DOCS);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/: \d+ files up to date\n$/);
  });

  it("docs/abi holds a C header and a JSON Schema per ABI version, and every header compiles as C11", () => {
    const headers = readdirSync(join(DOCS, "include"));
    expect(headers).toContain("luo-v5.h");
    expect(headers).toContain("hugetlb-sample-v1.h");
    expect(
      readdirSync(join(DOCS, "schema"))
        .map((f) => f.replace(/\.json$/, ".h"))
        .sort(),
    ).toEqual(headers.sort());
    for (const h of headers)
      execFileSync("gcc", [
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-fsyntax-only",
        "-x",
        "c",
        join(DOCS, "include", h),
      ]);
  });

  it("--check exits 1 naming every stale, missing and extra file, and writes nothing", async () => {
    const copy = join(tmp, "stale");
    cpSync(DOCS, copy, { recursive: true });
    writeFileSync(join(copy, "LUO.md"), "edited by hand\n");
    rmSync(join(copy, "include/memfd-v2.h"));
    writeFileSync(join(copy, "schema/gone-v1.json"), "{}\n");
    const r = await docs("--check", "--out", copy);
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n").slice(0, 3)).toEqual([
      `stale: ${copy}/LUO.md`,
      `missing: ${copy}/include/memfd-v2.h`,
      `extra: ${copy}/schema/gone-v1.json (no ABI makes it)`,
    ]);
    expect(r.stderr).toContain("run `npm run docs`");
    expect(readdirSync(join(copy, "schema"))).toContain("gone-v1.json");
  });

  it("writing brings a folder up to date: files regenerated, ABIs that are gone removed", async () => {
    const copy = join(tmp, "rewrite");
    cpSync(DOCS, copy, { recursive: true });
    writeFileSync(join(copy, "schema/gone-v1.json"), "{}\n");
    writeFileSync(join(copy, "LUO.md"), "edited by hand\n");
    expect((await docs("--out", copy)).code).toBe(0);
    expect((await docs("--check", "--out", copy)).code).toBe(0);
    expect(readdirSync(join(copy, "schema"))).not.toContain("gone-v1.json");
  });

  it("--plugin ABIs are documented too: committed docs lack counter, a folder written with it has it", async () => {
    const without = await docs("--check", "--out", DOCS, "--plugin", COUNTER);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain(`missing: ${DOCS}/include/counter-v2.h`);
    const out = join(tmp, "counter");
    expect((await docs("--out", out, "--plugin", COUNTER)).code).toBe(0);
    expect(readdirSync(out)).toContain("counter.md");
    expect((await docs("--check", "--out", out, "--plugin", COUNTER)).code).toBe(0);
  });
});
