import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Machine } from "@khosim/kho-core";
import { debugfsView, writeDebugfs } from "@khosim/kho-core/debugfs";
import { pathInside } from "@khosim/kho-core/fs";
import { kexecToImage, writeImageFile } from "@khosim/kho-core/image";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { capture } from "./helpers/io.js";

/** The subtree names issue 9 item 10 lists: each would leave, or reach into, the folder as a path. */
const HOSTILE = ["../x", "..", ".", "a/b", ""];

const root = mkdtempSync(join(tmpdir(), "khosim-cli-safety-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every file and folder under `dir`, relative to it. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((p) => relative(dir, join(dir, p)))
    .sort();
}

describe("issue 9 item 10: a command that writes files never writes outside its folder", () => {
  it("an image with subtrees named ../x, .., ., a/b and empty: kho debugfs dump writes only inside DIR", async () => {
    const m = new Machine({ pageSize: "4KiB", ram: [{ start: 0, size: "512MiB", nid: 0 }] });
    const a = m.boot({ release: "a" });
    const pa = a.out!.allocPreserve(64);
    m.mem.write(pa, new TextEncoder().encode("a blob a hostile image names"));
    for (const name of [...HOSTILE, "fine"]) a.out!.addSubtree(name, pa, 64);
    const work = join(root, "dump");
    mkdirSync(work);
    const image = join(work, "hostile.core");
    writeImageFile(image, kexecToImage(m, { release: "b" }).image);
    const out = join(work, "deep", "kho");

    const io = capture();
    expect(await main(["debugfs", "dump", image, out], io)).toBe(0);
    expect(tree(work)).toEqual(
      [
        "deep",
        "deep/kho",
        "deep/kho/in",
        "deep/kho/in/fdt",
        "deep/kho/in/sub_fdts",
        "deep/kho/in/sub_fdts/fine",
        "deep/kho/out",
        "deep/kho/out/scratch_len",
        "deep/kho/out/scratch_phys",
        "hostile.core",
      ].sort(),
    );
    // The kernel's own reaction, one line per name debugfs refuses, in FDT order (fdt_add_subnode puts
    // each new child first); never a stack trace.
    expect(io.stderr.split("\n").filter(Boolean)).toEqual(
      [...HOSTILE].reverse().map((n) => `KHO: failed to add blob ${n} to debugfs: -EACCES`),
    );
    expect(io.stderr + io.stdout).not.toMatch(/\n\s+at /);
  });

  it("an outgoing subtree debugfs refuses stays in the root FDT but gets no out/sub_fdts file, and no log line", () => {
    const m = new Machine({ pageSize: "4KiB", ram: [{ start: 0, size: "512MiB", nid: 0 }] });
    const a = m.boot({ release: "a" });
    const pa = a.out!.allocPreserve(64);
    for (const name of [...HOSTILE, "fine"]) a.out!.addSubtree(name, pa, 64);
    const view = debugfsView(a);
    expect([...view.files.keys()].filter((f) => f.startsWith("out/sub_fdts/"))).toEqual(["out/sub_fdts/fine"]);
    expect(view.warnings).toEqual([]);
    expect([...a.out!.subFdts.keys()].sort()).toEqual([...HOSTILE, "fine"].sort());
  });

  it("a view whose path climbs out (../x, .., ., empty) is refused whole with EINVAL before any write", () => {
    for (const name of HOSTILE.filter((n) => n !== "a/b")) {
      const parent = join(root, `view-${HOSTILE.indexOf(name)}`);
      mkdirSync(parent);
      const dir = join(parent, "kho");
      const view = {
        files: new Map([
          ["out/scratch_len", Uint8Array.of(0x30)],
          [`in/sub_fdts/${name}`, Uint8Array.of(1)],
        ]),
        warnings: [],
      };
      expect(() => writeDebugfs(dir, view), JSON.stringify(name)).toThrow(
        expect.objectContaining({ code: "EINVAL", message: expect.stringContaining("refusing to write") }),
      );
      expect(readdirSync(parent)).toEqual([]);
    }
  });

  it("a view path with a/b stays a path inside DIR", () => {
    const dir = join(root, "nested", "kho");
    writeDebugfs(dir, { files: new Map([["in/sub_fdts/a/b", Uint8Array.of(1)]]), warnings: [] });
    expect(tree(join(root, "nested"))).toEqual([
      "kho",
      "kho/in",
      "kho/in/sub_fdts",
      "kho/in/sub_fdts/a",
      "kho/in/sub_fdts/a/b",
    ]);
  });

  it.each(HOSTILE.map((n) => [n]))("pathInside refuses the name %j as a path segment", (name) => {
    expect(() => pathInside(root, name)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(() => pathInside(root, "sub", name)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(pathInside(root, "in", "sub_fdts", "fine")).toBe(join(root, "in", "sub_fdts", "fine"));
  });
});
