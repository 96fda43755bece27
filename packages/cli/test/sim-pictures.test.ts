import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { capture } from "./helpers/io.js";

const dir = mkdtempSync(join(tmpdir(), "khosim-cli-pictures-"));

describe("kho sim --svg / --html (issue 12 item 6)", () => {
  it("--svg draws the last kexec at its jump: every owner of preserved memory, segments and poison", async () => {
    const svg = join(dir, "sim.svg");
    const io = capture();
    expect(await main(["sim", "--svg", svg], io)).toBe(0);
    // The report on stdout is unchanged by the picture.
    expect(io.stdout.match(/^#\d+ /gm)).toEqual(["#0 ", "#1 ", "#2 ", "#3 "]);
    const text = readFileSync(svg, "utf8");
    expect(XMLValidator.validate(text)).toBe(true);
    const owners = new Set([...text.matchAll(/data-kind="preserved" data-owner="([^"]+)"/g)].map((m) => m[1]));
    expect([...owners].sort()).toEqual(["hugetlb-sample", "kernel", "kexec-metadata", "luo"]);
    for (const kind of ["poison", "scratch", "kexec-segment", "radix-node"])
      expect(text).toContain(`class="region" data-kind="${kind}"`);
    expect(text.match(/<g class="numa-node" data-nid="(\d)">/g)).toHaveLength(2);
  });

  it("--html is one page with no external reference", async () => {
    const html = join(dir, "sim.html");
    expect(await main(["sim", "--html", html], capture())).toBe(0);
    const text = readFileSync(html, "utf8");
    expect(text).toMatch(/^<!DOCTYPE html>/);
    expect(text).not.toMatch(/\b(src|href)=/);
    expect(text).toContain("default-src 'none'");
    expect(text.match(/<section class="details"/g)).toHaveLength(4);
  });
});
