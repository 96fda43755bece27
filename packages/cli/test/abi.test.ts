import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ABI_PAGE_SIZES, type AbiSchema, defineAbi, defineStruct, field } from "@khosim/kho-core";
import { abiId, generateCHeader, groupAbiNodes, renderAbiDocs } from "@khosim/kho-core/abi";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { BUILTIN_PLUGINS } from "../src/plugins.js";
import { abisOf } from "../src/schemas.js";
import { capture } from "./helpers/io.js";

const tmp = mkdtempSync(join(tmpdir(), "khosim-cli-abi-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const repo = resolve(import.meta.dirname, "../../..");
const COUNTER = join(repo, "examples/counter-plugin");
const BUILTIN_ABIS = abisOf(BUILTIN_PLUGINS);

/** `gcc -std=c11 -Wall -Wextra -Werror` on a C file; no skip when gcc is missing (ENOENT fails the test). */
function compile(name: string, source: string): void {
  const file = join(tmp, name);
  writeFileSync(file, source);
  execFileSync("gcc", ["-std=c11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", file], { stdio: "pipe" });
}

async function header(id: string, ...more: string[]): Promise<string> {
  const io = capture();
  expect(await main(["abi", "header", id, ...more], io), io.stderr).toBe(0);
  return io.stdout;
}

describe("kho abi", () => {
  it("docs/abi/ is exactly what `kho abi docs` writes (run `npm run docs` after changing a schema)", () => {
    const dir = join(repo, "docs/abi");
    const want = renderAbiDocs(BUILTIN_ABIS);
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith(".md"))
        .sort(),
    ).toEqual([...want.keys()].sort());
    for (const [name, text] of want)
      expect(readFileSync(join(dir, name), "utf8"), `docs/abi/${name} is stale`).toBe(text);
  });

  it("docs --out writes every page and removes pages of ABIs that are gone", async () => {
    const out = join(tmp, "docs");
    const io = capture();
    expect(await main(["abi", "docs", "--out", out], io)).toBe(0);
    writeFileSync(join(out, "gone.md"), "old");
    expect(await main(["abi", "docs", "--out", out], capture())).toBe(0);
    expect(readdirSync(out).sort()).toEqual([...renderAbiDocs(BUILTIN_ABIS).keys(), "include", "schema"].sort());
    expect(io.stdout).toMatch(/^wrote \d+ files to /);
  });

  it("lists every ABI version with its id, node, kind, format, version and title", async () => {
    const io = capture();
    expect(await main(["abi", "list"], io)).toBe(0);
    expect(io.stdout).toContain("kexec-metadata-v1\tkexec-metadata\tsubtree\tstruct\t1\tkexec metadata\n");
    expect(io.stdout).toContain("kho-root\tkho-root\tcore\tfdt\tkho-v4\tRoot KHO FDT\n");
    expect(io.stdout).toContain("luo-v5\tLUO\tsubtree\tstruct\tluo-v5\tLive Update Orchestrator\n");
    expect(io.stdout.trim().split("\n")).toHaveLength(BUILTIN_ABIS.length);
    const js = capture();
    expect(await main(["abi", "list", "--json"], js)).toBe(0);
    expect(JSON.parse(js.stdout)).toContainEqual(expect.objectContaining({ id: "kexec-metadata-v1", version: "1" }));
  });

  it("lists the hugetlb-sample subtree and prints its C header with the entry struct", async () => {
    const list = capture();
    expect(await main(["abi", "list"], list)).toBe(0);
    expect(list.stdout).toContain("hugetlb-sample-v1\thugetlb-sample\tsubtree\tstruct\t1\thugetlb sample, version 1\n");
    const h = capture();
    expect(await main(["abi", "header", "hugetlb-sample", "--page-size", "16KiB"], h)).toBe(0);
    expect(h.stdout).toContain("struct hugetlb_sample_folio_ser {");
    expect(h.stdout).toContain('#define HUGETLB_SAMPLE_V1_COMPATIBLE "hugetlb-sample-v1"');
    expect(h.stdout).toContain(
      'static_assert(sizeof(struct hugetlb_sample_ser) == 120, "sizeof(struct hugetlb_sample_ser)");',
    );
  });

  it("prints a subtree's Markdown, C header per page size and JSON Schema", async () => {
    const doc = capture();
    expect(await main(["abi", "doc", "kexec-metadata"], doc)).toBe(0);
    expect(doc.stdout).toContain("| 69 | 4 | `u32` | `kexec_count` |");
    expect(await header("kho-vmalloc", "--page-size", "64KiB")).toContain("uint64_t phys[8191];");
    const js = capture();
    expect(await main(["abi", "json-schema", "kexec-metadata-v1"], js)).toBe(0);
    expect(JSON.parse(js.stdout)).toMatchObject({
      title: "kexec-metadata-v1",
      type: "object",
      properties: { kexec_count: { type: "integer" } },
    });
  });

  it("rejects unknown ABIs, subcommands and page sizes with usage errors", async () => {
    for (const args of [
      ["abi", "doc", "nope"],
      ["abi", "frobnicate"],
      ["abi", "header", "kho-block", "--page-size", "8KiB"],
      ["abi", "docs"],
      ["abi", "header", "counter", "--plugin", COUNTER],
    ]) {
      const io = capture();
      expect(await main(args, io), args.join(" ")).toBe(2);
      expect(io.stderr).toMatch(/^kho abi( \w+)?: /);
    }
  });

  it.each(BUILTIN_ABIS.flatMap((s) => ABI_PAGE_SIZES.map((ps) => [abiId(s), ps] as const)))(
    "the C header of %s (PAGE_SIZE %d) compiles with gcc -Wall -Werror and its static_asserts hold",
    (id, ps) => {
      const schema = BUILTIN_ABIS.find((s) => abiId(s) === id)!;
      compile(`${id}-${ps}.c`, `${generateCHeader(schema, { pageSize: ps })}\nint main(void) { return 0; }\n`);
    },
  );
});

describe("issue 9 item 8: versioned ABI docs", () => {
  it("kho abi list --plugin examples/counter-plugin lists counter-v1 and counter-v2", async () => {
    const io = capture();
    expect(await main(["abi", "list", "--plugin", COUNTER], io), io.stderr).toBe(0);
    const ids = io.stdout.split("\n").map((l) => l.split("\t")[0]);
    expect(ids).toContain("counter-v1");
    expect(ids).toContain("counter-v2");
    expect(io.stdout).toContain("counter-v2\tcounter\tsubtree\tstruct\t2\texample counter, version 2\n");
  });

  it("the counter-v1 and counter-v2 headers compile together in one C file (gcc -std=c11 -Wall -Werror)", async () => {
    const v1 = await header("counter-v1", "--plugin", COUNTER);
    const v2 = await header("counter-v2", "--plugin", COUNTER);
    expect(v1).toContain("#ifndef KHO_ABI_COUNTER_V1_H");
    expect(v2).toContain("#ifndef KHO_ABI_COUNTER_V2_H");
    writeFileSync(join(tmp, "counter-v1.h"), v1);
    writeFileSync(join(tmp, "counter-v2.h"), v2);
    // A v2 reader that also accepts v1 blobs, as a kernel pinned to both would be.
    compile(
      "counter-reader.c",
      [
        `#include "counter-v1.h"`,
        `#include "counter-v2.h"`,
        `#include "counter-v1.h"`,
        `#include <string.h>`,
        `unsigned long long count_of(const void *blob) {`,
        `\tif (!strncmp(blob, COUNTER_V2_COMPATIBLE, COUNTER_COMPATIBLE_LEN))`,
        `\t\treturn ((const struct counter_ser_v2 *)blob)->count;`,
        `\treturn ((const struct counter_ser *)blob)->count;`,
        `}`,
        ``,
      ].join("\n"),
    );
  });

  it("one docs page per node lists every version and its history; each JSON Schema pins its compatible", async () => {
    const doc = capture();
    expect(await main(["abi", "doc", "counter-v1", "--plugin", COUNTER], doc)).toBe(0);
    expect(doc.stdout).toMatch(/^# counter: 2 versions\n/);
    expect(doc.stdout).toContain("| 1 | `counter-v1` | `counter-v1` | example counter, version 1 |");
    expect(doc.stdout).toContain("| 2 | `counter-v2` | `counter-v2` | example counter, version 2 |");
    expect(doc.stdout).toContain("| `2` | buf_crc32 appended;");
    expect(doc.stdout).toContain("#### struct counter_ser\n");
    expect(doc.stdout).toContain("#### struct counter_ser_v2\n");
    const out = join(tmp, "counter-docs");
    expect(await main(["abi", "docs", "--out", out, "--plugin", COUNTER], capture())).toBe(0);
    expect(readFileSync(join(out, "counter.md"), "utf8")).toBe(doc.stdout);
    for (const id of ["counter-v1", "counter-v2"]) {
      const js = capture();
      expect(await main(["abi", "json-schema", id, "--plugin", COUNTER], js)).toBe(0);
      expect(JSON.parse(js.stdout)).toMatchObject({ title: id, properties: { compatible: { const: id } } });
    }
  });

  it("two versions of a node declaring one struct name, or one macro with two values, are EEXIST naming both", () => {
    const s = defineStruct("x_ser", { n: field.u32() }, { packed: true });
    const v = (n: string, layout = s, defines = {}): AbiSchema =>
      defineAbi({ name: "x", title: n, summary: "", compatible: [`x-v${n}`], version: n, layout, defines });
    expect(() => groupAbiNodes([v("1"), v("2")])).toThrow(/struct x_ser is declared by both x-v1 and x-v2/);
    const s2 = defineStruct("x_ser_v2", { n: field.u32() }, { packed: true });
    expect(() => groupAbiNodes([v("1", s, { X_LEN: 1 }), v("2", s2, { X_LEN: 2 })])).toThrow(
      /macro X_LEN is 1 in x-v1 and 2 in x-v2/,
    );
    expect(groupAbiNodes([v("1", s, { X_LEN: 1 }), v("2", s2, { X_LEN: 1 })])[0]!.versions).toHaveLength(2);
  });
});
