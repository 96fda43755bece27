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

/** `` `file` › "test name" `` references in one row. */
function references(row: string): { file: string; name: string }[] {
  return [...row.matchAll(/`([^`]+\.test\.ts)` › "([^"]+)"/g)].map((m) => ({ file: m[1]!, name: m[2]! }));
}

describe("docs/fidelity.md", () => {
  it("has the five columns on every row, and rows for every area the core models", () => {
    expect(rows.length).toBeGreaterThan(30);
    for (const row of rows) expect(cells(row).length, row).toBe(5);
    for (const heading of [
      "## Boot paths",
      "## Scratch sizing and placement",
      "## Populate checks and early mappings",
      "## Reserve walk and restore",
      "## Radix tree, root FDT, blocks, kexec-metadata, debugfs",
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
        expect(readFileSync(path, "utf8").includes(`"${name}"`), `${file}: "${name}"`).toBe(true);
      }
    }
  });
});
