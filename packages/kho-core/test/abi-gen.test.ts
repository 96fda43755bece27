import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ABI_PAGE_SIZES,
  CORE_ABIS,
  defineAbi,
  defineStruct,
  field,
  generateCHeader,
  generateJsonSchema,
  generateMarkdown,
  kho_data,
  kho_vmalloc_chunk,
  khoRootFdt,
  renderAbiDocs,
} from "../src/abi/index.js";

const luo_ser = defineStruct(
  "luo_ser",
  {
    compatible: field.charFor("luo-v5", 8, { doc: "ABI version string" }),
    liveupdate_num: field.u64(),
    sessions_pa: field.phys(),
    flbs_pa: field.phys(),
  },
  { packed: true },
);
const luoAbi = defineAbi({
  name: "LUO",
  title: "Live Update Orchestrator state",
  summary: "Test declaration of the LUO subtree.",
  compatible: ["luo-v5"],
  version: "luo-v5",
  layout: luo_ser,
  defines: { LUO_ABI_COMPATIBLE: "luo-v5" },
});
const metadataAbi = defineAbi({
  name: "kexec-metadata",
  title: "kexec metadata",
  summary: "Test declaration of the kexec-metadata subtree.",
  version: "1",
  layout: defineStruct(
    "kho_kexec_metadata",
    { version: field.u32(), previous_release: field.char(65), kexec_count: field.u32() },
    { packed: true },
  ),
});

const tmp = mkdtempSync(join(tmpdir(), "khosim-abi-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("generated C headers", () => {
  const cases = [...CORE_ABIS, luoAbi, metadataAbi].flatMap((s) => ABI_PAGE_SIZES.map((ps) => [s, ps] as const));
  it.each(cases.map(([s, ps]) => [s.name, ps, s] as const))(
    "%s (PAGE_SIZE %d) compiles and its asserts hold",
    (name, ps, s) => {
      const header = join(tmp, `${name}-${ps}.h`);
      const source = join(tmp, `${name}-${ps}.c`);
      writeFileSync(header, generateCHeader(s, { pageSize: ps }));
      writeFileSync(source, `#include "${header}"\nint main(void) { return 0; }\n`);
      // No skip when gcc is missing: execFileSync throws ENOENT and the test fails.
      execFileSync("gcc", ["-std=c11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", source], { stdio: "pipe" });
    },
  );

  it("a wrong layout fails to compile (the asserts are real)", () => {
    const lie = generateCHeader(luoAbi).replace(
      "offsetof(struct luo_ser, flbs_pa) == 24",
      "offsetof(struct luo_ser, flbs_pa) == 20",
    );
    const source = join(tmp, "lie.c");
    writeFileSync(source, `${lie}\nint main(void) { return 0; }\n`);
    expect(() =>
      execFileSync("gcc", ["-std=c11", "-Wall", "-Werror", "-fsyntax-only", source], { stdio: "pipe" }),
    ).toThrow();
  });

  it("states the alignment rule, packing and compatible macro", () => {
    const h = generateCHeader(luoAbi);
    expect(h).toContain('char compatible[KHO_ABI_ALIGN(sizeof("luo-v5"), 8)];');
    expect(h).toContain("} __packed;");
    expect(h).toContain('#define LUO_ABI_COMPATIBLE "luo-v5"');
    expect(generateCHeader(CORE_ABIS.find((s) => s.name === "kho-vmalloc")!, { pageSize: 16384 })).toContain(
      "uint64_t phys[2047];",
    );
  });
});

describe("Markdown docs", () => {
  it("docs/abi/ pages of the core ABIs are up to date (run `npm run docs` after changing a schema)", () => {
    const dir = resolve(import.meta.dirname, "../../../docs/abi");
    // The index also lists plugin ABIs; the cli's test checks the whole folder.
    for (const [name, text] of renderAbiDocs()) {
      if (name === "README.md") continue;
      expect(readFileSync(join(dir, name), "utf8"), `docs/abi/${name} is stale`).toBe(text);
    }
  });

  it("documents a subtree: node name, compatible, field table and C declaration", () => {
    const md = generateMarkdown(luoAbi);
    expect(md).toContain("| KHO node name | `LUO` |");
    expect(md).toContain("| 0 | 8 | `char[8]` | `compatible` | ABI version string |");
    expect(md).toContain("| 24 | 8 | `u64 (phys)` | `flbs_pa` | Physical address, 0 = none. |");
    expect(md).toContain("```c\nstruct luo_ser {");
  });
});

describe("JSON Schema", () => {
  it("describes toJson output, u64 as decimal strings", () => {
    const js = generateJsonSchema(kho_data) as { properties: Record<string, { type: string; pattern: string }> };
    expect(js.properties.fdt_addr!.type).toBe("string");
    const value = { fdt_addr: 0x1000n, fdt_size: 4096n, scratch_addr: (1n << 64n) - 1n, scratch_size: 48n };
    const json = kho_data.toJson(value);
    expect(json).toEqual({
      fdt_addr: "4096",
      fdt_size: "4096",
      scratch_addr: "18446744073709551615",
      scratch_size: "48",
    });
    expect(kho_data.jsonSchema.safeParse(json).success).toBe(true);
    const chunk = generateJsonSchema(kho_vmalloc_chunk.at(4096)) as { properties: { phys: { minItems: number } } };
    expect(chunk.properties.phys.minItems).toBe(511);
  });

  it("works for FDT layouts", () => {
    const js = z.object({}).passthrough().parse(generateJsonSchema(khoRootFdt));
    expect(JSON.stringify(js)).toContain("preserved-memory-map");
  });
});
