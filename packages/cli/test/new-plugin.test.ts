import { execFileSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { capture } from "./helpers/io.js";
import { OFFLINE_ENV, packWorkspaces, REPO, sh } from "./helpers/pack.js";

/* Issue 12 item 8: `kho new-plugin` scaffolds a package whose tests pass without edits, in and out of the repo. */

const outside = mkdtempSync(join(tmpdir(), "khosim-new-plugin-"));
// Inside the workspace, next to the example plugin: node resolves @khosim/kho-core from the root node_modules.
const inside = mkdtempSync(join(REPO, "examples", ".new-plugin-"));
afterAll(() => {
  rmSync(outside, { recursive: true, force: true });
  rmSync(inside, { recursive: true, force: true });
});

const FILES = [
  "README.md",
  "package.json",
  "scenarios/one-kexec.json",
  "src/abi/index.mjs",
  "src/index.mjs",
  "test/plugin.test.mjs",
];

const listed = (dir: string) =>
  readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => !lstatSync(join(dir, f)).isDirectory())
    .sort();

async function scaffold(...argv: string[]) {
  const io = capture();
  const code = await main(["new-plugin", ...argv], io);
  return { code, ...io };
}

/** `node --test` in a scaffolded package: its TAP summary. */
function nodeTest(dir: string): string {
  return execFileSync(process.execPath, ["--test"], { cwd: dir, env: OFFLINE_ENV, encoding: "utf8", stdio: "pipe" });
}

describe("issue 12 item 8: kho new-plugin NAME [--dir DIR]", () => {
  it("refuses a NAME that is no lowercase C identifier, a C keyword or too long: exit 2, nothing written", async () => {
    for (const bad of ["My-plugin", "1st", "my-plugin", "_x", "int", "a".repeat(29), "@scope/x", "../up"]) {
      const dir = join(outside, "refused");
      const r = await scaffold(bad, "--dir", dir);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/^kho new-plugin: "/);
      expect(existsSync(dir)).toBe(false);
    }
    expect((await scaffold("a".repeat(28), "--dir", join(outside, "longest"))).code).toBe(0);
  });

  it("refuses an existing non-empty DIR or a file, and leaves them as they were: exit 2", async () => {
    const full = join(outside, "full");
    mkdirSync(full);
    writeFileSync(join(full, "keep.txt"), "mine");
    const r = await scaffold("demo", "--dir", full);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is not empty");
    expect(readdirSync(full)).toEqual(["keep.txt"]);
    expect((await scaffold("demo", "--dir", join(full, "keep.txt"))).code).toBe(2);
    expect(readFileSync(join(full, "keep.txt"), "utf8")).toBe("mine");
  });

  it("writes its six files inside DIR only (an empty DIR is fine) and names them", async () => {
    const dir = join(outside, "empty");
    mkdirSync(dir);
    const r = await scaffold("demo", "--dir", dir);
    expect(r.code, r.stderr).toBe(0);
    expect(listed(dir)).toEqual(FILES);
    expect(listed(outside).filter((f) => !f.startsWith("empty/") && !f.startsWith("longest/"))).toEqual([
      "full/keep.txt",
    ]);
    expect(r.stdout.match(/^wrote /gm)).toHaveLength(FILES.length);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<string, unknown>;
    expect(pkg).toMatchObject({ name: "demo", type: "module", scripts: { test: "node --test" } });
  });

  it("inside this repository, under examples/, the scaffold's tests pass as written", async () => {
    const dir = join(inside, "cache_v");
    expect((await scaffold("cache_v", "--dir", relative(process.cwd(), dir))).code).toBe(0);
    expect(nodeTest(dir)).toMatch(/# pass 4\n# fail 0\n/);
    // The repository's lint passes on it as written: the JavaScript names do not depend on NAME.
    execFileSync(join(REPO, "node_modules/.bin/biome"), ["check", dir], { cwd: REPO, stdio: "pipe" });
    // kho itself loads it: the schema module's layout is listed with its C name.
    const io = capture();
    expect(await main(["abi", "list", "--plugin", dir], io), io.stderr).toBe(0);
    expect(io.stdout).toContain("cache_v-v1\tcache_v\tsubtree\tstruct\t1\tcache_v, version 1\n");
  });

  it("outside the repository, installed from a packed kho-core tarball, npm test passes", async () => {
    const packs = join(outside, "packs");
    mkdirSync(packs);
    const [core] = packWorkspaces(["packages/kho-core"], packs);
    expect(core).toMatch(/khosim-kho-core-0\.1\.0\.tgz$/);
    const dir = join(outside, "note_keeper");
    expect((await scaffold("note_keeper", "--dir", dir)).code).toBe(0);
    sh(`npm install ${core}`, dir);
    expect(lstatSync(join(dir, "node_modules/@khosim/kho-core")).isSymbolicLink()).toBe(false);
    expect(sh("npm test", dir)).toMatch(/# pass 4\n# fail 0\n/);
  }, 120_000);
});
