import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runScenario } from "@khosim/kho-core";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { main } from "../src/main.js";
import { BUILTIN_PLUGINS } from "../src/plugins.js";
import { DEFAULT_SCENARIO, loadScenarioFile, MAX_SCENARIO_BYTES, ScenarioFileError } from "../src/scenario-file.js";
import { capture } from "./helpers/io.js";

const tmp = mkdtempSync(join(tmpdir(), "khosim-scenario-file-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const f = join(tmp, name);
  writeFileSync(f, text);
  return f;
}

async function sim(...args: string[]) {
  const io = capture();
  const code = await main(["sim", ...args], io);
  return { code, ...io };
}

const GOOD = `name: tiny
machine:
  pageSize: 4KiB
  ram: [{ start: 0, size: 1GiB }]
kernels:
  A: { release: 7.2.0-rc1, plugins: [kexec-metadata] }
steps:
  - boot: A
  - kexec: A
  - expect: { outcome: running, restored: [kexec-metadata] }
`;

describe("issue 12 item 1: scenario files", () => {
  it("a YAML file runs, and the same scenario as JSON gives the same report", async () => {
    const yaml = await sim(file("tiny.yaml", GOOD), "--json");
    const json = await sim(file("tiny.json", JSON.stringify(parse(GOOD))), "--json");
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).toBe(yaml.stdout);
    const doc = JSON.parse(yaml.stdout) as { transitions: { log: string[] }[] };
    expect(doc.transitions[1]!.log).toContain("KHO: exec from: 7.2.0-rc1 (count 1)");
  });

  it("every schema issue at once, each with the file, line, column and path of the bad field; exit 2", async () => {
    const bad = file(
      "bad.yaml",
      `name: bad
machine:
  pageSize: 4KiB
  ram: [{ start: 0, size: 1GiB, node: 1 }]
kernels:
  A:
    release: ""
    plugins: [kexec-metadata]
    colour: blue
steps:
  - boot: A
  - { expect: { outcome: sleeping } }
`,
    );
    const r = await sim(bad);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n").slice(1, -1)).toEqual([
      `${bad}:4:33: machine.ram.0.node: unknown key "node"`,
      `${bad}:7:5: kernels.A.release: release must not be empty`,
      `${bad}:9:5: kernels.A.colour: unknown key "colour"`,
      expect.stringMatching(new RegExp(`^${bad}:12:17: steps\\.1\\.expect\\.outcome: Invalid option`)),
    ]);
    expect(r.stderr).toMatch(/^kho sim: .*bad\.yaml: 4 problem\(s\)\n/);
  });

  it("unknown plugins and actions with bad arguments are all located too", () => {
    const f = file(
      "steps.yaml",
      `name: steps
machine: { pageSize: 4KiB, ram: [{ start: 0, size: 1GiB }] }
kernels:
  A: { release: r, plugins: [kexec-metadata, luo, nosuch] }
steps:
  - boot: A
  - action: luo.createSession
    args: { name: "" }
  - action: luo.levitate
  - kexec: Z
`,
    );
    let err: unknown;
    try {
      loadScenarioFile(f, BUILTIN_PLUGINS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioFileError);
    const issues = (err as ScenarioFileError).issues.map((i) => `${i.line}:${i.col} ${i.path}`);
    expect(issues).toEqual([
      "4:51 kernels.A.plugins.2",
      "8:13 steps.1.args.name",
      "9:5 steps.2.action",
      "10:5 steps.3.kexec",
    ]);
  });

  it("what building the machine or a kernel would refuse is located too: composition, sizes, page sizes", async () => {
    const f = file(
      "build.yaml",
      `name: build
machine: { pageSize: 4KiB, ram: [{ start: 0, size: lots }] }
kernels:
  A: { release: a, plugins: [luo, luo] }
  B: { release: b, plugins: [memfd-luo] }
  C: { release: c, pageSize: 16KiB, plugins: [] }
steps:
  - boot: A
`,
    );
    const r = await sim(f);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n").slice(1, -1)).toEqual([
      `${f}:4:3: kernels.A: plugin "luo" is listed twice`,
      `${f}:5:3: kernels.B: plugin "memfd-luo" depends on "luo", which is not in this kernel (at memfd-luo)`,
      expect.stringMatching(new RegExp(`^${f}:2:1: machine: `)),
    ]);
    const fixed = await sim(file("build2.yaml", readFileSync(f, "utf8").replace("lots", "1GiB")));
    expect(fixed.stderr).toContain(
      `${f.replace("build", "build2")}:6:20: kernels.C.pageSize: 16384-byte pages, the machine has 4096`,
    );
  });

  it("a YAML syntax error is located and exits 2", async () => {
    const r = await sim(file("syntax.yaml", "name: x\nmachine: { pageSize: 4KiB\nsteps: []\n"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/syntax\.yaml:\d+:\d+: \(syntax\): /);
  });

  it("a file larger than a scenario is refused before it is read (no unbounded memory)", async () => {
    const big = join(tmp, "big.yaml");
    writeFileSync(big, Buffer.alloc(MAX_SCENARIO_BYTES + 1, 0x20));
    const r = await sim(big);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is more than a scenario");
  });

  it("a missing file is ENOENT (exit 1), two arguments are a usage error (exit 2)", async () => {
    const missing = await sim(join(tmp, "nope.yaml"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^kho sim: ENOENT: cannot read /);
    const two = await sim("a.yaml", "b.yaml");
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('unexpected argument "b.yaml"');
  });

  it("an expectation that does not hold exits 1 and the report says which", async () => {
    const f = file("fails.yaml", GOOD.replace("restored: [kexec-metadata]", "restored: [LUO]"));
    const r = await sim(f);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("expectations: 0 of 1 hold\n  step 2 (after #1): FAILED\n");
    expect(r.stdout).toContain("    restored: expected [LUO], got [kexec-metadata]\n");
  });

  it("an action that fails unexpectedly, or that was to fail and did not, is a failed expectation", async () => {
    const f = file(
      "actions.yaml",
      GOOD.replace("{ release: 7.2.0-rc1,", "{ release: 7.2.0-rc1, cmdline: kho=on liveupdate=on,").replace(
        "plugins: [kexec-metadata] }",
        "plugins: [kexec-metadata, luo] }",
      ) +
        `  - { action: luo.retrieveSession, args: { name: nobody } }\n` +
        `  - { action: luo.retrieveSession, args: { name: nobody }, fails: ENOENT }\n` +
        `  - { action: luo.createSession, args: { name: vm }, fails: EEXIST }\n`,
    );
    const r = await sim(f);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/step 3 \(after #1\): FAILED\n {4}luo\.retrieveSession failed: ENOENT: /);
    expect(r.stdout).toContain("expectations: 1 of 4 hold"); // step 2 now sees LUO restored too
    expect(r.stdout).toContain("step 4 (after #1): holds");
    expect(r.stdout).toContain("step 5 (after #1): FAILED\n    luo.createSession: expected to fail with EEXIST");
  });

  it("a panic no expect step foresees is a failure; one it foresees is not", async () => {
    const skew = readFileSync(join(import.meta.dirname, "../../../examples/scenarios/luo-version-skew.yaml"), "utf8");
    const unforeseen = file("panic.yaml", skew.slice(0, skew.indexOf("  - expect:")));
    const r = await sim(unforeseen);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("panicked (The incoming tree failed to initialize properly [-EINVAL], disabling");
    expect(r.stdout).toContain('and no "expect: { outcome: panicked }" follows');
  });

  it("a boot after a panic resets the machine and goes on; the panic before it still fails if unforeseen", async () => {
    const skew = readFileSync(join(import.meta.dirname, "../../../examples/scenarios/luo-version-skew.yaml"), "utf8");
    const head = skew.slice(0, skew.indexOf("  - expect:"));
    const r = await sim(file("reset.yaml", `${head}  - boot: current\n  - expect: { outcome: running }\n`));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("#2 cold boot -> 7.2.0-rc1\n");
    expect(r.stdout).toMatch(/step 3 \(after #1\): FAILED\n {4}7\.1\.0-luo-v1 panicked \(/);
    expect(r.stdout).toContain("step 5 (after #2): holds");
    expect(r.stdout).not.toContain("chain stopped");
  });

  it("kernels.K.options builds a plugin with its options (LUO strict); bad options are located too", async () => {
    const f = file(
      "options.yaml",
      `name: options
machine: { pageSize: 4KiB, ram: [{ start: 0, size: 1GiB }] }
kernels:
  A:
    release: a
    plugins: [kexec-metadata, luo]
    options:
      luo: { strict: yes please }
      kexec-metadata: { fast: true }
      hugetlb-sample: {}
steps:
  - boot: A
`,
    );
    const r = await sim(f);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n").slice(1, -1)).toEqual([
      `${f}:8:14: kernels.A.options.luo.strict: Invalid input: expected boolean, received string`,
      `${f}:9:7: kernels.A.options.kexec-metadata: plugin "kexec-metadata" takes no options`,
      `${f}:10:7: kernels.A.options.hugetlb-sample: kernel "A" has no plugin "hugetlb-sample"`,
    ]);
    const dup = readFileSync(
      join(import.meta.dirname, "../../../examples/scenarios/luo-duplicate-session.yaml"),
      "utf8",
    );
    const strict = loadScenarioFile(file("dup.yaml", dup), BUILTIN_PLUGINS).kernels.strict!.plugins;
    const luo = BUILTIN_PLUGINS.find((p) => p.name === "luo")!;
    expect(strict.find((p) => p.name === "luo")).not.toBe(luo);
  });

  it("the default scenario is a YAML file of the package, loaded through the same path as user files", async () => {
    const builtin = await sim("--json");
    const named = await sim(DEFAULT_SCENARIO, "--json");
    expect(builtin.code).toBe(0);
    expect(named.stdout).toBe(builtin.stdout);
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "../package.json"), "utf8")) as { files: string[] };
    expect(pkg.files).toContain("scenarios");
    expect(runScenario(loadScenarioFile(DEFAULT_SCENARIO, BUILTIN_PLUGINS)).expectations.length).toBeGreaterThan(3);
  });
});
