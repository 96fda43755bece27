import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { type Command, helpText, isGroup, resolve } from "../src/command.js";
import { kho } from "../src/commands/index.js";
import { main } from "../src/main.js";
import { loadPlugins } from "../src/plugins.js";
import { capture } from "./helpers/io.js";

const repo = resolvePath(import.meta.dirname, "../../..");
const tmp = mkdtempSync(join(tmpdir(), "khosim-cli-plugins-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every command of the tree with its path: ["kho"], ["kho", "abi"], ["kho", "abi", "list"], ... */
function walk(c: Command, path: string[] = [c.name]): [string[], Command][] {
  return [[path, c], ...(isGroup(c) ? c.subcommands.flatMap((s) => walk(s, [...path, s.name])) : [])];
}

/** A plugin module outside the workspace: it reaches kho-core by file URL, as a package of its own would by name. */
function pluginSource(name: string, exportAs: "plugins" | "default"): string {
  const core = pathToFileURL(join(repo, "packages/kho-core/dist/index.js")).href;
  return [
    `import { defineAbi, defineStruct, field } from ${JSON.stringify(core)};`,
    `const layout = defineStruct("${name}_ser", { n: field.u32() }, { packed: true });`,
    `const abi = defineAbi({ name: "${name}", title: "${name} blob", summary: "",`,
    `  compatible: ["${name}-v1"], version: "1", layout });`,
    `const plugin = { name: "${name}", subtrees: [{ abi }] };`,
    exportAs === "plugins" ? "export const plugins = [plugin];" : "export default plugin;",
    "",
  ].join("\n");
}

async function listIds(args: string[]): Promise<string[]> {
  const io = capture();
  expect(await main(["abi", "list", ...args], io), io.stderr).toBe(0);
  return io.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split("\t")[0]!);
}

describe("issue 9 item 11: CLI plumbing", () => {
  it("kho --version prints the CLI package's version", async () => {
    const io = capture();
    expect(await main(["--version"], io)).toBe(0);
    const pkg = JSON.parse(readFileSync(join(repo, "packages/cli/package.json"), "utf8")) as { version: string };
    expect(io.stdout).toBe(`${pkg.version}\n`);
  });

  it.each(walk(kho).map(([p, c]) => [p.join(" "), p, c] as const))(
    "%s --help shows usage and an example",
    async (_, path, c) => {
      for (const flag of ["--help", "-h"]) {
        const io = capture();
        expect(await main([...path.slice(1), flag], io)).toBe(0);
        expect(io.stdout).toBe(helpText(c, path));
        expect(io.stdout).toMatch(new RegExp(`^usage: ${path.join(" ")}`));
        expect(io.stdout).toMatch(/\nexample: kho \S/);
      }
    },
  );

  it.each(walk(kho).map(([p, c]) => [p.join(" "), c.example] as const))(
    "the example of %s is a command line the parser accepts: %s",
    (_, example) => {
      const argv = example.split(" ").slice(1);
      expect(resolve(kho, argv, ["kho"]).kind).toBe("run");
    },
  );

  it("a group without a command, or with an unknown one, is a usage error listing its commands", async () => {
    for (const argv of [[], ["abi"], ["abi", "nope"], ["nope"]]) {
      const io = capture();
      expect(await main(argv, io)).toBe(2);
      expect(io.stderr).toMatch(/^kho( abi)?: (missing|unknown) command/);
      expect(io.stderr).toContain("<command> --help shows a command's usage.");
    }
  });

  it("every leaf takes --name value and --name=value alike, and refuses unknown options and extra words", async () => {
    const a = capture();
    const b = capture();
    await main(["abi", "header", "kho-vmalloc", "--page-size", "16KiB"], a);
    await main(["abi", "header", "kho-vmalloc", "--page-size=16KiB"], b);
    expect(b.stdout).toBe(a.stdout);
    for (const argv of [
      ["image", "info", "a", "b"],
      ["fdt", "dts"],
      ["radix", "geometry", "--bogus"],
    ]) {
      const io = capture();
      expect(await main(argv, io), argv.join(" ")).toBe(2);
      expect(io.stderr).toMatch(new RegExp(`^kho ${argv[0]} ${argv[1]}: `));
    }
  });
});

/** The plugins every `kho` has, before any it loads. */
const BUILTIN = ["kexec-metadata", "luo", "memfd-luo", "hugetlb-sample"];

describe("issue 9 item 7: plugins load from anywhere", () => {
  const dir = join(tmp, "project");
  mkdirSync(join(dir, "node_modules", "@acme", "pkg-plugin"), { recursive: true });
  writeFileSync(join(dir, "named.mjs"), pluginSource("named", "plugins"));
  writeFileSync(join(dir, "by-default.mjs"), pluginSource("bydefault", "default"));
  const pkg = join(dir, "node_modules", "@acme", "pkg-plugin");
  writeFileSync(join(pkg, "index.mjs"), pluginSource("frompackage", "plugins"));
  writeFileSync(
    join(pkg, "package.json"),
    JSON.stringify({ name: "@acme/pkg-plugin", type: "module", exports: { ".": { default: "./index.mjs" } } }),
  );
  writeFileSync(join(dir, "empty.mjs"), "export const nothing = 1;\n");

  it("--plugin takes a file exporting `plugins`, one with a default export, and a package folder", async () => {
    const ids = await listIds([
      "--plugin",
      join(dir, "named.mjs"),
      "--plugin",
      join(dir, "by-default.mjs"),
      "--plugin",
      join(repo, "examples/counter-plugin"),
    ]);
    expect(ids.slice(-5)).toEqual(["hugetlb-sample-v1", "named-v1", "bydefault-v1", "counter-v1", "counter-v2"]);
  });

  it("kho.config.json in the working directory names modules by relative path and by package name", async () => {
    writeFileSync(join(dir, "kho.config.json"), JSON.stringify({ plugins: ["./named.mjs", "@acme/pkg-plugin"] }));
    try {
      const names = (await loadPlugins({}, dir)).map((p) => p.name);
      expect(names).toEqual([...BUILTIN, "named", "frompackage"]);
    } finally {
      rmSync(join(dir, "kho.config.json"));
    }
  });

  it("kho.config.mjs may hold plugin objects; --config FILE reads a config relative to itself", async () => {
    const core = pathToFileURL(join(dir, "named.mjs")).href;
    writeFileSync(
      join(dir, "kho.config.mjs"),
      `import { plugins } from ${JSON.stringify(core)};\n` +
        `export default { plugins: [...plugins, "./by-default.mjs"] };\n`,
    );
    try {
      expect((await loadPlugins({}, dir)).map((p) => p.name)).toEqual([...BUILTIN, "named", "bydefault"]);
      const names = (await loadPlugins({ config: join(dir, "kho.config.mjs") }, tmp)).map((p) => p.name);
      expect(names).toEqual([...BUILTIN, "named", "bydefault"]);
    } finally {
      rmSync(join(dir, "kho.config.mjs"));
    }
  });

  it("a module without plugins, a missing one, or two plugins with one name are one-line errors, exit 1", async () => {
    writeFileSync(join(dir, "clash.mjs"), pluginSource("named", "plugins"));
    for (const [argv, msg] of [
      [["--plugin", join(dir, "empty.mjs")], /^kho abi list: EINVAL: exports no plugins/],
      [["--plugin", join(dir, "missing.mjs")], /^kho abi list: ENOENT: no plugin module at /],
      [["--plugin", "@acme/not-installed"], /^kho abi list: ENOENT: no package "@acme\/not-installed"/],
      [
        ["--plugin", join(dir, "named.mjs"), "--plugin", join(dir, "clash.mjs")],
        /EEXIST: two different plugins are named "named"/,
      ],
      [["--config", join(dir, "nope.json")], /^kho abi list: ENOENT: no config file /],
    ] as const) {
      const io = capture();
      expect(await main(["abi", "list", ...argv], io), argv.join(" ")).toBe(1);
      expect(io.stderr).toMatch(msg);
      expect(io.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("every command that lists, documents, runs or decodes subtrees takes --plugin and --config", () => {
    const want = ["kho abi list", "kho abi doc", "kho abi header", "kho abi json-schema", "kho abi docs"];
    want.push("kho debugfs decode", "kho debugfs dump", "kho sim");
    for (const [path, c] of walk(kho).filter(([p]) => want.includes(p.join(" ")))) {
      expect(isGroup(c), path.join(" ")).toBe(false);
      if (!isGroup(c))
        expect(Object.keys(c.options), path.join(" ")).toEqual(expect.arrayContaining(["plugin", "config"]));
    }
  });
});
