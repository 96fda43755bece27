import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../../../", import.meta.url);
const doc = readFileSync(new URL("docs/fidelity.md", root), "utf8");

/** The cells of a table row, trimmed. */
function cells(row: string): string[] {
  return row
    .slice(1, -1)
    .split("|")
    .map((c) => c.trim());
}

/** Table rows of docs/fidelity.md (header and separator rows left out). */
const rows = doc
  .split("\n")
  .filter((l) => l.startsWith("|") && cells(l)[0] !== "behaviour" && !/^-+$/.test(cells(l)[0] ?? ""));

/** `` `file` › "test name" `` references in one row; a `"` inside a name is written `\"`. */
function references(row: string): { file: string; name: string }[] {
  return [...row.matchAll(/`([^`]+\.test\.ts)` › "((?:[^"\\]|\\.)+)"/g)].map((m) => ({
    file: m[1]!,
    name: m[2]!.replaceAll('\\"', '"'),
  }));
}

/** Whether `source` holds `name` as a whole string literal, in any of the quotes a test name may use. */
function holdsName(source: string, name: string): boolean {
  return [`"${name.replaceAll('"', '\\"')}"`, `'${name.replaceAll("'", "\\'")}'`, `\`${name}\``].some((literal) =>
    source.includes(literal),
  );
}

describe("docs/fidelity.md", () => {
  it("has the five columns on every row, and rows for every area the core and the plugins model", () => {
    expect(rows.length).toBeGreaterThan(30);
    for (const row of rows) expect(cells(row).length, row).toBe(5);
    for (const heading of [
      "## Boot paths",
      "## Scratch sizing and placement",
      "## Populate checks and early mappings",
      "## Reserve walk and restore",
      "## Radix tree, root FDT, blocks, kexec-metadata, debugfs",
      "## Plugin platform: initcalls, kexec-metadata timing, hooks",
      "## LUO and memfd",
      "## hugetlb-sample and seeded memory",
      "## debugfs names and output safety",
      "## Deliberate differences",
    ])
      expect(doc).toContain(heading);
  });

  it("every row points at a test that exists: the file is there and holds the test name", () => {
    for (const row of rows) {
      const refs = references(row);
      expect(refs.length, row).toBeGreaterThan(0);
      for (const { file, name } of refs) {
        const path = new URL(file, root);
        expect(existsSync(path), file).toBe(true);
        expect(holdsName(readFileSync(path, "utf8"), name), `${file}: "${name}"`).toBe(true);
      }
    }
  });
});
