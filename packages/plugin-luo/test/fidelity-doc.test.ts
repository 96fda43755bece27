import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../../..");
const doc = readFileSync(resolve(root, "docs/fidelity-luo.md"), "utf8");

/** Every `` `file` › "test name" `` reference, resolved the way the document says. */
function references(): { file: string; name: string }[] {
  const out: { file: string; name: string }[] = [];
  for (const m of doc.matchAll(/`([^`]+\.test\.ts)` › "((?:[^"\\]|\\.)*)"/g)) {
    const file = m[1]!.startsWith("packages/") ? m[1]! : `packages/plugin-luo/test/${m[1]}`;
    out.push({ file, name: m[2]!.replaceAll('\\"', '"') });
  }
  return out;
}

describe("docs/fidelity-luo.md", () => {
  it("every test it names exists in the file it names", () => {
    const refs = references();
    expect(refs.length).toBeGreaterThan(30);
    for (const { file, name } of refs) {
      expect(existsSync(resolve(root, file)), file).toBe(true);
      const text = readFileSync(resolve(root, file), "utf8").replaceAll('\\"', '"');
      expect(text.includes(name), `${file} has no test "${name}"`).toBe(true);
    }
  });
});
