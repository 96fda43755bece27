import { COMPATIBLE_BYTES, compatibleOf } from "./name.js";

/** One file of a scaffolded plugin: its path segments under the package folder, and its text. */
export interface ScaffoldFile {
  readonly path: readonly string[];
  readonly text: string;
}

/** Bytes of the scaffolded struct's `text` field; the action accepts one less (the NUL). */
const TEXT_BYTES = 64;

/*
 * The JavaScript names are the same whatever NAME is (`layoutV1`,
 * `subtreeV1`, `plugin`): NAME appears only inside strings, so the files
 * are Biome-formatted for any name. The C names come from NAME.
 *
 * The scaffold is plain ES modules run by `node --test`: no compiler and
 * no test runner to install, so the package builds (there is nothing to
 * build) and tests green the moment its two dependencies are installed,
 * inside this repository's workspace or anywhere else, and the code reads
 * the same as the guide's examples.
 */

function packageJson(name: string, coreVersion: string): string {
  const pkg = {
    name,
    version: "0.1.0",
    private: true,
    description: `A KHO subtree producer for khosim: ${compatibleOf(name)}`,
    type: "module",
    exports: { ".": "./src/index.mjs", "./abi": "./src/abi/index.mjs" },
    scripts: { test: "node --test" },
    engines: { node: ">=20.19" },
    dependencies: { "@khosim/kho-core": coreVersion, zod: "^4.1.0" },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

function abiModule(name: string): string {
  return `// The layout of ${compatibleOf(name)}, schemas only: docs, C header and JSON Schema derive from it.
import { defineAbi, defineStruct, defineSubtree, field, isKhoError } from "@khosim/kho-core";

export const NODE_NAME = "${name}";
export const COMPATIBLE = "${compatibleOf(name)}";

export const layoutV1 = defineStruct(
  "${name}_ser",
  {
    compatible: field.char(${COMPATIBLE_BYTES}, { doc: '"${compatibleOf(name)}", NUL-padded' }),
    text: field.char(${TEXT_BYTES}, { doc: "What the workload wrote, NUL-terminated" }),
  },
  { packed: true },
);

export const abiV1 = defineAbi({
  name: NODE_NAME,
  title: "${name}, version 1",
  summary: "A text the workload keeps across kexec, in one preserved page.",
  compatible: [COMPATIBLE],
  version: "1",
  layout: layoutV1,
});

/** The compatible string a blob starts with; null when it is too short or not a clean string. */
function identify(blob) {
  if (blob.length < layoutV1.size) return null;
  try {
    return layoutV1.decode(blob.subarray(0, layoutV1.size)).compatible;
  } catch (e) {
    if (isKhoError(e)) return null;
    throw e;
  }
}

export const subtreeV1 = defineSubtree({ abi: abiV1, identify });
`;
}

function pluginModule(name: string): string {
  return `// ${name}: a text that survives kexec, in a page preserved with KHO.
import { definePlugin, hex, KhoError } from "@khosim/kho-core";
import { z } from "zod";
import { COMPATIBLE, layoutV1, NODE_NAME, subtreeV1 } from "./abi/index.mjs";

export const plugin = definePlugin({
  name: "${name}",
  logPrefix: "${name}: ",
  subtrees: [subtreeV1],
  state: () => ({ text: "", pa: 0 }),
  // What a scenario may do: { "action": "${name}.write", "args": { "text": "hello" } }.
  actions: {
    write: {
      summary: "keep \`text\` for the next kernel",
      args: z.strictObject({ text: z.string().max(${TEXT_BYTES - 1}) }),
      run: (ctx, { text }) => {
        ctx.state.text = text;
      },
    },
  },
  outgoing: {
    // kho_init has run: preserve the blob's page and list it in the root FDT. With KHO off there is nothing to list.
    init(ctx) {
      if (!ctx.khoEnabled) return;
      ctx.state.pa = ctx.kho.allocPreserve(layoutV1.size);
      ctx.kho.addSubtree(NODE_NAME, ctx.state.pa, layoutV1.size);
    },
    // Before the jump: write what the workload left.
    prepare(ctx) {
      if (ctx.state.pa === 0) return;
      layoutV1.writeAt(ctx.mem, ctx.state.pa, { compatible: COMPATIBLE, text: ctx.state.text });
    },
  },
  incoming: {
    // The next kernel: check the size before reading, take the text, give the page back.
    restore(ctx, sub) {
      if (sub.size !== layoutV1.size)
        throw new KhoError("EINVAL", \`blob-size \${sub.size}, not \${layoutV1.size}\`, hex(sub.phys));
      const { text } = layoutV1.readAt(ctx.mem, sub.phys);
      sub.khoIn.restoreFree(sub.phys);
      ctx.state.text = text;
      ctx.verified(layoutV1.size);
      ctx.log.info(\`restored "\${text}"\`);
    },
  },
});

// What \`kho --plugin .\` loads.
export const plugins = [plugin];
`;
}

function scenario(name: string): string {
  const text = "kept across kexec";
  const data = {
    name: `${name}: a text across one kexec`,
    machine: {
      pageSize: "4KiB",
      ram: [
        { start: 0, size: "256MiB", nid: 0 },
        { start: "1GiB", size: "256MiB", nid: 0 },
      ],
    },
    kernels: {
      A: { release: "7.2.0-a", plugins: [name] },
      B: { release: "7.2.0-b", plugins: [name] },
    },
    steps: [
      { boot: "A" },
      { action: `${name}.write`, args: { text } },
      { kexec: "B" },
      { expect: { outcome: "running", restored: [name], anomalies: 0, log: [`${name}: restored "${text}"`] } },
    ],
  };
  return `${JSON.stringify(data, null, 2)}\n`;
}

function testModule(name: string): string {
  return `// ${name}'s tests: a kexec chain and the scenario file, in milliseconds, with node's own test runner.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { runScenarioData } from "@khosim/kho-core";
import { assertNoAnomalies, assertRunning, assertSubtree, runKexecChain } from "@khosim/kho-core/testing";
import { COMPATIBLE, layoutV1 } from "../src/abi/index.mjs";
import { plugin } from "../src/index.mjs";

test("the blob is the compatible string, then the text, each NUL-padded", () => {
  const bytes = layoutV1.encode({ compatible: COMPATIBLE, text: "hi" });
  assert.equal(bytes.length, ${COMPATIBLE_BYTES + TEXT_BYTES});
  assert.equal(Buffer.from(bytes.subarray(0, ${COMPATIBLE_BYTES})).toString("latin1").replace(/\\0+$/, ""), COMPATIBLE);
  assert.equal(Buffer.from(bytes.subarray(${COMPATIBLE_BYTES})).toString("latin1").replace(/\\0+$/, ""), "hi");
});

test("the text written in the first kernel survives two kexecs", () => {
  const { host, reports } = runKexecChain({
    plugins: [plugin],
    kernels: ["A", "B", "C"],
    workload(host, step) {
      if (step === 0) host.action("${name}.write", { text: "hello from A" });
    },
  });
  for (const r of reports.slice(1)) {
    assertRunning(r);
    assertNoAnomalies(r);
    assertSubtree(r, "${name}", "restored", COMPATIBLE);
  }
  assert.equal(host.context(plugin).state.text, "hello from A");
});

test("the write action refuses a text longer than the blob holds", () => {
  const { host } = runKexecChain({ plugins: [plugin], kernels: ["A"] });
  assert.throws(() => host.action("${name}.write", { text: "x".repeat(${TEXT_BYTES}) }), /text/);
});

test("the scenario file's expectations hold", () => {
  const data = JSON.parse(readFileSync(new URL("../scenarios/one-kexec.json", import.meta.url), "utf8"));
  const result = runScenarioData(data, [plugin]);
  assert.equal(result.expectations.length, 1);
  assert.deepEqual(result.expectations[0].failures, []);
});
`;
}

function readme(name: string): string {
  return `# ${name}

A KHO subtree producer for [khosim](https://github.com/khosim): the \`${name}\` node,
\`${compatibleOf(name)}\`, a text that survives kexec in one preserved page.

- \`src/abi/index.mjs\`: the layout (schemas only)
- \`src/index.mjs\`: the plugin, its hooks (\`init\`, \`prepare\`, \`restore\`) and its \`write\` action
- \`scenarios/one-kexec.json\`: a scenario using the action
- \`test/plugin.test.mjs\`: a kexec chain and the scenario, with \`@khosim/kho-core/testing\`

\`\`\`sh
npm install
npm test                                       # node --test
npx kho abi doc ${compatibleOf(name)} --plugin .   # with @khosim/cli installed
\`\`\`
`;
}

/** Every file of a new plugin package, in the order they are written. */
export function scaffoldFiles(name: string, coreVersion: string): ScaffoldFile[] {
  return [
    { path: ["package.json"], text: packageJson(name, coreVersion) },
    { path: ["README.md"], text: readme(name) },
    { path: ["src", "abi", "index.mjs"], text: abiModule(name) },
    { path: ["src", "index.mjs"], text: pluginModule(name) },
    { path: ["scenarios", "one-kexec.json"], text: scenario(name) },
    { path: ["test", "plugin.test.mjs"], text: testModule(name) },
  ];
}
