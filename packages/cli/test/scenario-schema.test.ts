import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { scenarioJsonSchema } from "@khosim/kho-core";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const repo = resolve(import.meta.dirname, "../../..");
const SCHEMA_FILE = join(repo, "docs/scenario.schema.json");
const EXAMPLES = join(repo, "examples/scenarios");

describe("issue 12 item 2: the scenario JSON Schema", () => {
  it("docs/scenario.schema.json is z.toJSONSchema of scenarioSchema (run `npm run docs` after a change)", () => {
    expect(readFileSync(SCHEMA_FILE, "utf8")).toBe(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
  });

  it("a standard JSON Schema validator (ajv, draft 2020-12) accepts every example and rejects what zod rejects", () => {
    const validate = new Ajv2020({ strict: false, allErrors: true }).compile(
      JSON.parse(readFileSync(SCHEMA_FILE, "utf8")),
    );
    for (const f of readdirSync(EXAMPLES)) {
      const data: unknown = parse(readFileSync(join(EXAMPLES, f), "utf8"));
      expect(validate(data), `${f}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    const bad = {
      name: "x",
      machine: { pageSize: "4KiB", ram: [{ start: 0, size: "1GiB", node: 1 }] },
      kernels: { A: { release: "", plugins: [] } },
      steps: [{ expect: { outcome: "sleeping" } }],
    };
    expect(validate(bad)).toBe(false);
    const where = new Set(validate.errors!.map((e) => e.instancePath));
    expect(where).toContain("/machine/ram/0");
    expect(where).toContain("/kernels/A/release");
  });
});
