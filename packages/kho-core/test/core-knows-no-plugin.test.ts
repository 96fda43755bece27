import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..", "src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** The code of a file without its comments: names in prose are fine, in code they are a dependency. */
function code(file: string): string {
  return readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:])\/\/.*$/gm, "$1");
}

/** Node names and struct names of the kernel's KHO users: LUO, kexec-metadata, memblock, kho_test, memfd. */
const PLUGIN_NAMES = [
  "kexec-metadata",
  "kho_kexec_metadata",
  "LUO",
  "luo_ser",
  "luo-v",
  "memblock",
  "kho_test",
  "memfd",
];

describe("the core knows no plugin (issue 9 item 1)", () => {
  it("no file under packages/kho-core/src holds a layout, node name or branch of a plugin", () => {
    const files = sources(SRC);
    expect(files.length).toBeGreaterThan(50);
    const hits = files.flatMap((f) =>
      // A name in code is a string literal of its own: "LUO", "luo-v5", "kexec-metadata".
      PLUGIN_NAMES.filter((n) => new RegExp(`["'\`]${n}[\\w.-]*["'\`]`).test(code(f))).map(
        (n) => `${relative(SRC, f)}: ${n}`,
      ),
    );
    expect(hits).toEqual([]);
  });
});
