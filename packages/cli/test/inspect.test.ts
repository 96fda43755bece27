import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AnyPlugin, runScenario, type TransitionReport } from "@khosim/kho-core";
import { decodeDebugfsDir } from "@khosim/kho-core/debugfs";
import {
  encodeImage,
  type HandoverImage,
  type ImageInspection,
  jumpImage,
  writeImageFile,
} from "@khosim/kho-core/image";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { describeAll } from "../src/commands/debugfs.js";
import { main } from "../src/main.js";
import { BUILTIN_PLUGINS } from "../src/plugins.js";
import { DEFAULT_SCENARIO, loadScenarioFile } from "../src/scenario-file.js";
import { capture } from "./helpers/io.js";

const dir = mkdtempSync(join(tmpdir(), "khosim-cli-inspect-"));

/** The default scenario, live, with the handover image of every kexec taken at its jump. */
const images = new Map<number, HandoverImage>();
const live = runScenario(loadScenarioFile(DEFAULT_SCENARIO, BUILTIN_PLUGINS), {
  jump: (machine, h, index) => {
    images.set(index, jumpImage(machine, h));
  },
});
const imageFile = (i: number): string => {
  const f = join(dir, `jump-${i}.core`);
  writeImageFile(f, images.get(i)!);
  return f;
};

async function inspectJson(args: string[]): Promise<ImageInspection> {
  const io = capture();
  expect(await main(["inspect", ...args, "--json"], io), io.stderr).toBe(0);
  return JSON.parse(io.stdout) as ImageInspection;
}

describe("kho inspect IMAGE (issue 12 item 5)", () => {
  it("an image written at a live run's jump reproduces the subtrees and memory the live run reported", async () => {
    const kexecs = live.transitions.filter((t) => t.kind === "kexec");
    expect(kexecs.map((t) => t.index)).toEqual([...images.keys()]);
    for (const t of kexecs) {
      const x = await inspectJson([imageFile(t.index)]);
      // Every subtree the next kernel restored is in the image, same place, size and version.
      const seen = x.subtrees.map((s) => ({
        name: s.name,
        plugin: s.owner,
        phys: s.listed?.preservedData,
        size: s.length,
        compatible: s.decoded.kind === "subtree" ? s.decoded.compatible : null,
      }));
      expect(seen).toEqual(expect.arrayContaining(t.subtrees.restored.map((r) => ({ ...r }))));
      // ...and nothing else: the image holds exactly the children the next kernel found, whatever became of them.
      const found = Object.values(t.subtrees).flatMap((list) => list.map((s) => s.name));
      expect(seen.map((s) => s.name).sort()).toEqual(found.sort());
      // The contents: what the next kernel printed from them.
      const meta = x.subtrees.find((s) => s.name === "kexec-metadata")!.decoded;
      if (meta.kind !== "subtree") throw new Error("kexec-metadata not decoded");
      const fields = meta.fields as { previous_release: string; kexec_count: number };
      expect(t.log).toContain(`KHO: exec from: ${fields.previous_release} (count ${fields.kexec_count})`);
      const luo = x.subtrees.find((s) => s.name === "LUO")!.decoded;
      if (luo.kind !== "subtree") throw new Error("LUO not decoded");
      const num = (luo.fields as { liveupdate_num: string }).liveupdate_num;
      expect(t.log).toContain(`luo: Retrieved live update data, liveupdate number: ${num}`);
      // The radix tree walked from the image's memory is what the report counted at the jump.
      const pre: TransitionReport["preserved"] = t.preserved;
      expect(x.radix).toMatchObject({ status: "walked", blocks: pre.blocks, pages: pre.pages, byOrder: pre.byOrder });
      expect(x.scratch?.areas).toEqual(live.transitions[t.index - 1]!.to!.scratch);
      expect(x.rootFdt?.dts).toMatch(/^\/dts-v1\/;\n\n\/ \{\n\tcompatible = "kho-v4";/);
      expect(x.problems).toEqual([]);
    }
  });

  it("prints the root FDT as DTS and as a tree, each subtree by its plugin, the radix tree and scratch", async () => {
    const io = capture();
    expect(await main(["inspect", imageFile(1)], io)).toBe(0);
    expect(io.stdout).toMatch(/^image: x86_64, release 7\.2\.0-rc1, 4096-byte pages\n/);
    expect(io.stdout).toMatch(
      /\n {2}tree:\n {4}\/\n {6}compatible = "kho-v4"\n {6}preserved-memory-map = 0x[0-9a-f]+\n/,
    );
    expect(io.stdout).toMatch(/\n {8}blob-size = 0x[0-9a-f]+\n/);
    expect(io.stdout).toContain("\n  dts:\n    /dts-v1/;\n");
    expect(io.stdout).toMatch(/\n {2}LUO: 32 bytes at 0x[0-9a-f]+, owner luo, luo-v5: \{"compatible":"luo-v5",/);
    const keys = /\d+ keys \((order \d+: \d+(, )?)+\)/.source;
    expect(io.stdout).toMatch(
      new RegExp(`\\nradix tree at 0x[0-9a-f]+: ${keys}, \\d+ pages, \\d+ bytes preserved, \\d+ node pages\\n`),
    );
    expect(io.stdout).toMatch(/\nscratch 0x[0-9a-f]+\+0x[0-9a-f]+\n/);
  });

  it("the DTS is dtc's, byte for byte, of the root FDT the next kernel finds", async () => {
    const x = await inspectJson([imageFile(3)]);
    const kho = join(dir, "kho-3");
    expect(await main(["debugfs", "dump", imageFile(3), kho], capture())).toBe(0);
    const dts = execFileSync("dtc", ["-q", "-I", "dtb", "-O", "dts", join(kho, "in", "fdt")], { encoding: "utf8" });
    expect(x.rootFdt?.dts).toBe(dts);
  });

  it("a subtree no loaded plugin owns is shown raw with its size", async () => {
    const image = images.get(1)!;
    // Rename a node in the image's root FDT: now no plugin owns it.
    const renamed = renameNode(image, "hugetlb-sample", "hugetlb-sampl3");
    const f = join(dir, "renamed.core");
    writeFileSync(f, encodeImage(renamed));
    const y = await inspectJson([f]);
    const orphan = y.subtrees.find((s) => s.name === "hugetlb-sampl3")!;
    expect(orphan.owner).toBeNull();
    expect(orphan.decoded.kind).toBe("raw");
    expect(orphan.length).toBe(120);
  });

  it("a truncated image and a garbage file: one error line, exit 2, no stack trace", async () => {
    const whole = readFileSync(imageFile(1));
    const truncated = join(dir, "truncated.core");
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
    const garbage = join(dir, "garbage.core");
    writeFileSync(garbage, Buffer.from("this is not an ELF core file, just text\n".repeat(40)));
    for (const f of [truncated, garbage, join(dir, "missing.core")]) {
      const io = capture();
      expect(await main(["inspect", f], io)).toBe(2);
      expect(io.stdout).toBe("");
      expect(io.stderr).toMatch(new RegExp(`^kho inspect: ${f.replace(/[.]/g, "\\.")}: E[A-Z]+: [^\\n]+\\n$`));
    }
  });

  it("--svg draws the memory map: valid XML, a legend naming the owners, ranges coloured by owner", async () => {
    const svg = join(dir, "map.svg");
    const x = await inspectJson([imageFile(1), "--svg", svg]);
    const text = readFileSync(svg, "utf8");
    expect(XMLValidator.validate(text)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(text) as {
      svg: { g: SvgGroup[] };
    };
    const legend = doc.svg.g.find((g) => g.class === "legend")!;
    const legendText = asArray(legend.g).map((i) => String(i.text["#text"]));
    for (const owner of ["kernel", "kexec-metadata", "luo", "hugetlb-sample"])
      expect(legendText).toContain(`preserved by ${owner}`);
    expect(legendText).toEqual(expect.arrayContaining(["scratch area", "kexec segment", "radix tree node page"]));
    const rects = doc.svg.g.filter((g) => g.class === "numa-node").flatMap((g) => asArray(g.rect));
    const preserved = rects.filter((r) => r["data-kind"] === "preserved");
    // Each preserved region of the map is one rectangle, with its owner and address.
    const fromMap = x.memoryMap.nodes.flatMap((n) => n.regions.filter((r) => r.kind === "preserved"));
    expect(preserved.map((r) => [r["data-owner"], r["data-start"], r["data-size"]])).toEqual(
      fromMap.map((r) => [r.owner, r.start, r.size]),
    );
    const luo = preserved.find((r) => r["data-owner"] === "luo")!;
    const kernel = preserved.find((r) => r["data-owner"] === "kernel")!;
    expect(luo.fill).not.toBe(kernel.fill);
    expect(rects.filter((r) => r["data-kind"] === "kexec-segment")).toHaveLength(2);
  });
});

describe("kho inspect --debugfs (issue 12 item 5)", () => {
  it("decodes a debugfs copy by the plugins; the radix tree is unavailable without memory pages", async () => {
    const kho = join(dir, "kho");
    expect(await main(["debugfs", "dump", imageFile(2), kho, "--release", "7.2.0-rc1"], capture())).toBe(0);
    const io = capture();
    expect(await main(["inspect", "--debugfs", kho], io)).toBe(0);
    expect(io.stdout).toMatch(/^root FDT \(in\/fdt\): ok, \d+ bytes, totalsize \d+\n {2}tree:\n/);
    expect(io.stdout).toMatch(/\n {4}luo \(luo-v5\): \{"compatible":"luo-v5","liveupdate_num":"2",/);
    expect(io.stdout).toContain("\nradix tree: unavailable: a debugfs copy has no memory pages\n");
    const json = capture();
    expect(await main(["inspect", "--debugfs", kho, "--json"], json)).toBe(0);
    const doc = JSON.parse(json.stdout) as { source: string; radix: { status: string }; rootFdt: { dts: string } };
    expect(doc.source).toBe("debugfs");
    expect(doc.radix.status).toBe("unavailable");
    expect(doc.rootFdt.dts).toContain('compatible = "kho-v4";');
  });

  it("each blob is read and described once: the decoder's result names its plugin, no second pass", async () => {
    const kho = join(dir, "kho-once");
    expect(await main(["debugfs", "dump", imageFile(2), kho, "--release", "7.2.0-rc1"], capture())).toBe(0);
    let calls = 0;
    const counted: AnyPlugin[] = BUILTIN_PLUGINS.map((p) => ({
      ...p,
      subtrees: p.subtrees?.map((v) => ({
        ...v,
        describe: (b: Uint8Array) => {
          calls++;
          return v.describe(b);
        },
      })),
    }));
    const report = decodeDebugfsDir(
      kho,
      counted.flatMap((p) => p.subtrees ?? []),
    );
    const decodedBlobs = report.in!.subFdts.filter((b) => b.decoded.kind === "subtree");
    expect(decodedBlobs.length).toBeGreaterThan(1);
    expect(calls).toBe(decodedBlobs.length);
    const described = describeAll(report, counted);
    expect(calls).toBe(decodedBlobs.length);
    expect([...described.values()].map((d) => [d.name, d.plugin])).toEqual(
      expect.arrayContaining([
        ["LUO", "luo"],
        ["kexec-metadata", "kexec-metadata"],
      ]),
    );
    expect(described.size).toBe(decodedBlobs.length);
  });

  it("a garbage directory argument: one error line, exit 2", async () => {
    const io = capture();
    expect(await main(["inspect", "--debugfs", join(dir, "nope")], io)).toBe(2);
    expect(io.stderr).toMatch(/^kho inspect: .*nope: ENOENT: [^\n]+\n$/);
  });
});

interface SvgGroup {
  id?: string;
  class?: string;
  g?: { text: { "#text": string } } | { text: { "#text": string } }[];
  rect?: SvgRect | SvgRect[];
}
type SvgRect = Record<string, string>;
function asArray<T>(x: T | T[] | undefined): T[] {
  return x === undefined ? [] : Array.isArray(x) ? x : [x];
}

/** The image with one root-FDT node renamed in place (same length, so nothing moves). */
function renameNode(image: HandoverImage, from: string, to: string): HandoverImage {
  const enc = new TextEncoder();
  const [a, b] = [enc.encode(`${from}\0`), enc.encode(`${to}\0`)];
  const loads = image.loads.map((l) => {
    const data = l.data.slice();
    for (let i = 0; i + a.length <= data.length; i++) if (a.every((v, k) => data[i + k] === v)) data.set(b, i);
    return { ...l, data };
  });
  return { ...image, loads };
}
