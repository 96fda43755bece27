import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sh as bash, REPO as repo } from "./helpers/pack.js";

/*
 * Issue 9 item 9: the published packages work outside this repository.
 * The test follows docs/writing-a-plugin.md, "A plugin in its own
 * repository", word for word: it runs the page's shell blocks (with
 * ~/khosim-packs pointing into a temporary folder outside the workspace)
 * and writes the page's files, installing offline-preferring (helpers/pack.ts).
 */

const guide = readFileSync(join(repo, "docs/writing-a-plugin.md"), "utf8");
const section = guide.slice(
  guide.indexOf("## A plugin in its own repository"),
  guide.indexOf("### What a package exports"),
);
const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]! }));

const root = mkdtempSync(join(tmpdir(), "khosim-pack-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const packs = join(root, "khosim-packs");

/** Runs one shell block of the guide, ~/khosim-packs made the temporary one. */
function sh(body: string, cwd: string): string {
  return bash(body.replaceAll("~/khosim-packs", packs), cwd);
}

describe("issue 9 item 9: a plugin in its own repository, from packed tarballs", () => {
  it("the guide's section has its two command blocks, its two files and its checks", () => {
    expect(blocks.map((b) => b.lang)).toEqual(["sh", "sh", "js", "js", "sh"]);
    expect(relative(repo, root).startsWith("..")).toBe(true);
  });

  it("npm pack of kho-core, the plugins and cli installs in an empty folder; the kexec test passes", () => {
    sh(blocks[0]!.body, repo);
    expect(readdirSync(packs).sort()).toEqual([
      "khosim-cli-0.1.0.tgz",
      "khosim-kho-core-0.1.0.tgz",
      "khosim-plugin-hugetlb-sample-0.1.0.tgz",
      "khosim-plugin-kexec-metadata-0.1.0.tgz",
      "khosim-plugin-luo-0.1.0.tgz",
    ]);
    sh(blocks[1]!.body, root);
    const app = join(root, "greeting");
    for (const { body } of blocks.slice(2, 4)) {
      const name = /^\/\/ (\S+\.mjs):/.exec(body)?.[1];
      expect(name, "each file block opens with `// <file>.mjs:`").toBeDefined();
      writeFileSync(join(app, name!), body);
    }
    // Nothing resolves into this workspace: every @khosim package is the tarball's copy.
    const installed = readdirSync(join(app, "node_modules/@khosim")).sort();
    expect(installed).toEqual(["cli", "kho-core", "plugin-hugetlb-sample", "plugin-kexec-metadata", "plugin-luo"]);
    for (const p of installed) expect(lstatSync(join(app, "node_modules/@khosim", p)).isSymbolicLink()).toBe(false);
    // A tarball ships compiled code and declarations only: no sources, maps, build info or bench.
    const shipped = readdirSync(join(app, "node_modules/@khosim/kho-core"), { recursive: true, encoding: "utf8" });
    expect(shipped.filter((f) => /(^src\/|\.map$|\.tsbuildinfo$|^dist\/bench)/.test(f))).toEqual([]);
    expect(shipped).toContain("dist/testing/index.d.ts");
    const lines = blocks[4]!.body
      .split("\n")
      .map((l) => l.replace(/\s+#.*$/, ""))
      .filter(Boolean);
    const [test, list, header, sim] = lines.map((l) => sh(l, app));
    expect(test).toMatch(/# pass 1\n# fail 0\n/);
    expect(list).toContain("greeting-v1\tgreeting\tsubtree\tstruct\t1\tgreeting, version 1\n");
    expect(header).toBe("");
    expect(readFileSync(join(app, "greeting-v1.h"), "utf8")).toContain("#ifndef KHO_ABI_GREETING_V1_H");
    expect(sim).toMatch(/greeting \(greeting-v1\) by greeting, 80 bytes at 0x/);
  }, 300_000);
});
