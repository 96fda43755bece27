import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { main } from "../src/main.js";
import { capture } from "./helpers/io.js";
import { REPO } from "./helpers/pack.js";

/*
 * Issue 12 item 9: `kho matrix`. Pairs run on worker threads, which run the
 * built code (`npm run build` first), so the matrices are computed by the
 * built `kho` in a child process; input errors, found before any worker
 * starts, are checked in-process.
 */

const KHO = join(REPO, "packages/cli/bin/kho.js");
const COUNTER = join(REPO, "examples/counter-plugin");
const KERNELS = ["rc1", "old-reader", "luo-v1-reader"];
const files = KERNELS.map((k) => join(REPO, "examples/matrix", `${k}.yaml`));

const tmp = mkdtempSync(join(tmpdir(), "khosim-matrix-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function kho(...argv: string[]) {
  const r = spawnSync(process.execPath, [KHO, ...argv], { cwd: REPO, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function inProcess(...argv: string[]) {
  const io = capture();
  return { code: await main(argv, io), ...io };
}

/** The verdict grid the three example compositions must give. */
const EXPECTED = [
  ["restored", "refused", "panic"],
  ["restored", "restored", "panic"],
  ["restored", "refused", "panic"],
];

const PANIC = "The incoming tree failed to initialize properly [-EINVAL], disabling live update";

interface Cell {
  from: string;
  to: string;
  verdict: string;
  reason: string | null;
  subtrees: { name: string; fate: string; compatible: string | null; reason: string | null }[];
  report: { outcome: string; log: string[]; verified: { bytes: number } } | null;
}

/** The three compositions in one matrix file, with a machine and a workload for every source kernel. */
function matrixFile(): string {
  const file = join(tmp, "fleet.json");
  const kernels = Object.fromEntries(KERNELS.map((k, i) => [k, parse(readFileSync(files[i]!, "utf8"))]));
  const data = {
    name: "fleet",
    machine: {
      pageSize: "4KiB",
      ram: [
        { start: 0, size: "1GiB", nid: 0 },
        { start: "1GiB", size: "1GiB", nid: 1 },
      ],
    },
    kernels,
    steps: [
      { action: "luo.createSession", args: { name: "vm-a" } },
      { action: "luo.preserveMemfd", args: { session: "vm-a", token: 1, text: "guest memory" } },
      { action: "counter.increment", args: { by: 3 } },
      { action: "counter.write", args: { text: "kept" } },
    ],
  };
  writeFileSync(file, JSON.stringify(data));
  return file;
}

describe("issue 12 item 9: kho matrix KERNELS...", () => {
  it("three compositions (same version, a pinned older reader, an incompatible LUO) give the expected cells", () => {
    const r = kho("matrix", ...files, "--plugin", COUNTER, "--workers", "2");
    expect(r.code, r.stderr).toBe(0);
    const grid = r.stdout.split("\n").slice(3, 7);
    expect(grid.map((l) => l.split(/\s{2,}/))).toEqual([
      ["from \\ to", ...KERNELS],
      ...KERNELS.map((k, i) => [k, ...EXPECTED[i]!]),
    ]);
    // Same version: everything crosses.
    expect(r.stdout).toContain(
      "rc1 -> rc1: restored\n  LUO: restored (luo-v5)\n  counter: restored (counter-v2)\n" +
        "  kexec-metadata: restored (kexec-metadata-v1)\n",
    );
    // The pinned older reader refuses counter-v2 and keeps the rest; it reads what it writes itself.
    expect(r.stdout).toContain("rc1 -> old-reader: refused\n");
    expect(r.stdout).toContain("  counter: refused (counter-v2): blob is counter-v2, kernel accepts counter-v1\n");
    expect(r.stdout).toContain(
      "old-reader -> rc1: restored\n  LUO: restored (luo-v5)\n  counter: restored (counter-v1)\n",
    );
    // A LUO that accepts only luo-v1 refuses luo-v5 at early_initcall, and LUO panics: even kexec into itself.
    for (const from of KERNELS) expect(r.stdout).toContain(`${from} -> luo-v1-reader: panic (${PANIC})\n`);
    expect(r.stdout).toContain("  LUO: refused: blob is unidentifiable, kernel accepts luo-v1\n");
  });

  it("one matrix file with a machine and a workload: --json, the same matrix with 1 and 2 worker threads", () => {
    const file = matrixFile();
    const one = kho("matrix", file, "--plugin", COUNTER, "--json", "--workers", "1");
    const two = kho("matrix", file, "--plugin", COUNTER, "--json", "--workers", "2");
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    const doc = JSON.parse(one.stdout) as { name: string; kernels: string[]; cells: Cell[] };
    expect(doc.name).toBe("fleet");
    expect(doc.kernels).toEqual(KERNELS);
    expect(doc.cells.map((c) => `${c.from}>${c.to}`)).toEqual(KERNELS.flatMap((f) => KERNELS.map((t) => `${f}>${t}`)));
    expect(doc.cells.map((c) => c.verdict)).toEqual(EXPECTED.flat());
    const same = doc.cells[0]!;
    expect(same.report?.outcome).toBe("running");
    // The workload crossed: the counter's count and buffer, LUO's session.
    expect(same.report?.log).toContain("counter: restored count 3 and a 4-byte buffer from counter-v2, crc32 ok");
    expect(same.report?.log).toContain("luo: Retrieved live update data, liveupdate number: 1");
    const refused = doc.cells[1]!;
    expect(refused.reason).toBe("counter: blob is counter-v2, kernel accepts counter-v1");
    expect(refused.subtrees.find((s) => s.name === "LUO")?.fate).toBe("restored");
    const panic = doc.cells[2]!;
    expect(panic).toMatchObject({ verdict: "panic", reason: PANIC, report: { outcome: "panicked" } });
    expect(panic.report?.log).toContain("luo: LUO state is incompatible with 'luo-v5'");
  });

  it("pairs run on worker threads, not on the main thread", () => {
    const probe = join(tmp, "probe.mjs");
    // A plugin that needs no package: it logs the thread its kernel runs on.
    writeFileSync(
      probe,
      'import { threadId } from "node:worker_threads";\n' +
        'export default { name: "probe", outgoing: { init: (ctx) => ctx.log.info("thread " + threadId) } };\n',
    );
    const kernels = ["a", "b"].map((k) => {
      const file = join(tmp, `${k}.json`);
      writeFileSync(file, JSON.stringify({ release: `7.2.0-${k}`, plugins: ["kexec-metadata", "probe"] }));
      return file;
    });
    const r = kho("matrix", ...kernels, "--plugin", probe, "--json", "--workers", "2");
    expect(r.code, r.stderr).toBe(0);
    const cells = (JSON.parse(r.stdout) as { cells: Cell[] }).cells;
    expect(cells.map((c) => c.verdict)).toEqual(["restored", "restored", "restored", "restored"]);
    const threads = cells.map((c) =>
      Number(/^probe: thread (\d+)$/.exec(c.report!.log.find((l) => l.startsWith("probe: "))!)![1]),
    );
    expect(threads.every((t) => t > 0)).toBe(true);
  });

  it("bad kernel files: every issue with its file and path, exit 2, before any pair runs", async () => {
    const bad = join(tmp, "bad.yaml");
    writeFileSync(bad, "release: 7.2.0-x\nplugins: [kexec-metadata, nosuch]\nversions:\n  LUO: { accept: [luo-v9] }\n");
    const r = await inProcess("matrix", files[0]!, bad, "--plugin", COUNTER);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`kho matrix: ${bad}: kernels.bad.plugins.1: no plugin "nosuch"`);
    // The pin names a subtree no plugin of that kernel provides (luo is not in it): a second issue, same run.
    expect(r.stderr).toContain(`kho matrix: ${bad}: kernels.bad: version pin for subtree "LUO", which no plugin`);
    expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(2);
    const pin = join(tmp, "pin.yaml");
    writeFileSync(pin, "release: 7.2.0-x\nplugins: [kexec-metadata, luo]\nversions:\n  LUO: { accept: [luo-v9] }\n");
    const p = await inProcess("matrix", files[0]!, pin, "--plugin", COUNTER);
    expect(p.code).toBe(2);
    expect(p.stderr).toContain(
      `kho matrix: ${pin}: kernels.pin: subtree "LUO": plugin "luo" implements no version "luo-v9"`,
    );
    const syntax = join(tmp, "syntax.yaml");
    writeFileSync(syntax, "release: [unclosed\n");
    const s = await inProcess("matrix", syntax);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/^kho matrix: .*syntax\.yaml: line \d+, column \d+: /);
  });

  it("a workload step that boots or kexecs, an unknown action, --workers 0: exit 2", async () => {
    const m = join(tmp, "steps.json");
    writeFileSync(
      m,
      JSON.stringify({
        kernels: { A: { release: "a", plugins: ["kexec-metadata"] } },
        steps: [{ kexec: "A" }, { action: "luo.createSession", args: { name: "x" } }],
      }),
    );
    const r = await inProcess("matrix", m);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`kho matrix: ${m}: steps.0: a workload step is an action or { finish: true }`);
    writeFileSync(
      m,
      JSON.stringify({
        kernels: { A: { release: "a", plugins: ["kexec-metadata"] } },
        steps: [{ action: "luo.createSession", args: { name: "x" } }],
      }),
    );
    const a = await inProcess("matrix", m);
    expect(a.code).toBe(2);
    expect(a.stderr).toBe(`kho matrix: ${m}: steps.0.action: kernel "A" has no plugin "luo" (running A)\n`);
    expect((await inProcess("matrix", files[0]!, "--workers", "0")).code).toBe(2);
    expect((await inProcess("matrix")).code).toBe(2);
  });
});
