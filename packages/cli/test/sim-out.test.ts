import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { capture } from "./helpers/io.js";

/** libfdt's own fdt_check_full and traversal (kho-core's oracle tool), built once against the system libfdt. */
const CANON_C = resolve(import.meta.dirname, "../../kho-core/test/c/fdt_canon.c");

const tmp = mkdtempSync(join(tmpdir(), "khosim-sim-out-"));
const out = join(tmp, "out");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

async function kho(...args: string[]) {
  const io = capture();
  const code = await main(args, io);
  return { code, ...io };
}

let report: { transitions: { index: number; kind: string; subtrees: { restored: { name: string }[] } }[] };

beforeAll(async () => {
  const r = await kho("sim", "--out", out, "--json");
  expect(r.code, r.stderr).toBe(0);
  report = JSON.parse(r.stdout);
});

const KEXECS = ["01-kexec", "02-kexec", "03-kexec"];

describe("issue 12 item 3: kho sim --out DIR", () => {
  it("writes one folder per transition, every file inside DIR: debugfs for the cold boot, and for each kexec", () => {
    expect(readdirSync(out).sort()).toEqual(["00-cold-boot", ...KEXECS]);
    const files = walk(out).map((f) => relative(out, f));
    expect(files.every((f) => !f.startsWith(".."))).toBe(true);
    expect(files.filter((f) => f.startsWith("00-cold-boot/")).sort()).toEqual([
      "00-cold-boot/debugfs/out/fdt",
      "00-cold-boot/debugfs/out/scratch_len",
      "00-cold-boot/debugfs/out/scratch_phys",
      // Taken once the kernel is up: every initcall has added its subtree, the workload has not run yet.
      "00-cold-boot/debugfs/out/sub_fdts/LUO",
      "00-cold-boot/debugfs/out/sub_fdts/hugetlb-sample",
      "00-cold-boot/debugfs/out/sub_fdts/kexec-metadata",
    ]);
    for (const k of KEXECS) {
      expect(files).toContain(`${k}/root.dtb`);
      expect(files).toContain(`${k}/image.elf`);
      expect(files).toContain(`${k}/debugfs/in/fdt`);
    }
    expect(report.transitions.map((t) => t.kind)).toEqual(["cold-boot", "kexec", "kexec", "kexec"]);
  });

  it("root.dtb is exactly totalsize bytes, and is the incoming FDT the booted kernel shows in debugfs", () => {
    for (const k of KEXECS) {
      const dtb = readFileSync(join(out, k, "root.dtb"));
      expect(dtb.readUInt32BE(0)).toBe(0xd00dfeed);
      expect(dtb.length).toBe(dtb.readUInt32BE(4));
      expect(readFileSync(join(out, k, "debugfs/in/fdt")).equals(dtb)).toBe(true);
    }
  });

  it("dtc -I dtb -O dts reads root.dtb and shows kho-v4 with every subtree the report restored or orphaned", () => {
    for (const [i, k] of KEXECS.entries()) {
      const dts = execFileSync("dtc", ["-I", "dtb", "-O", "dts", join(out, k, "root.dtb")], { encoding: "utf8" });
      expect(dts).toContain('compatible = "kho-v4";');
      for (const s of report.transitions[i + 1]!.subtrees.restored) expect(dts).toContain(`\t${s.name} {`);
    }
    expect(
      execFileSync("dtc", ["-I", "dtb", "-O", "dts", join(out, "03-kexec/root.dtb")], { encoding: "utf8" }),
    ).toContain("\thugetlb-sample {");
  });

  it("libfdt's fdt_check_full accepts root.dtb, and its listing matches `kho fdt canon`", async () => {
    const tool = join(tmp, "fdt_canon");
    execFileSync("gcc", ["-O1", "-Wall", "-o", tool, CANON_C, "-lfdt"], { stdio: "pipe" });
    const list = join(tmp, "list.txt");
    writeFileSync(list, `${KEXECS.map((k) => join(out, k, "root.dtb")).join("\n")}\n`);
    const r = spawnSync(tool, [list], { encoding: "latin1" });
    expect(r.status, r.stderr).toBe(0);
    const sections = r.stdout.split(/^#file .*\n/m).slice(1);
    expect(sections).toHaveLength(KEXECS.length);
    for (const [i, k] of KEXECS.entries()) {
      expect(sections[i]).not.toMatch(/^(INVALID|CRASH)/m);
      const ours = await kho("fdt", "canon", join(out, k, "root.dtb"));
      expect(ours.code).toBe(0);
      expect(ours.stdout).toBe(sections[i]);
    }
  });

  it("readelf -lW reads image.elf: an ELF core file, a LOAD segment holds the root FDT the record names", async () => {
    for (const k of KEXECS) {
      const file = join(out, k, "image.elf");
      const elf = execFileSync("readelf", ["-lW", file], { encoding: "utf8" });
      expect(elf).toContain("Elf file type is CORE (Core file)");
      expect(elf).toMatch(/^\s+NOTE\s/m);
      const loads = [...elf.matchAll(/^\s+LOAD\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)/gm)].map(
        (m) => ({ pa: Number(m[1]), filesz: Number(m[2]) }),
      );
      const info = await kho("image", "info", file, "--json");
      expect(info.code, info.stderr).toBe(0);
      const fdtPa = Number(
        (JSON.parse(info.stdout) as { record: { decoded: { fdtPa: string } } }).record.decoded.fdtPa,
      );
      const dtbSize = readFileSync(join(out, k, "root.dtb")).length;
      expect(loads.some((l) => l.pa <= fdtPa && fdtPa + dtbSize <= l.pa + l.filesz)).toBe(true);
    }
  });

  it("issue 12: kho inspect of each image.elf reproduces the subtrees the live run's report lists", async () => {
    type Outcome = { name: string; plugin?: string; phys?: string; size?: number; compatible?: string | null };
    type Live = { index: number; subtrees: Record<string, Outcome[]> };
    const live = report.transitions as unknown as Live[];
    for (const [i, k] of KEXECS.entries()) {
      const r = await kho("inspect", join(out, k, "image.elf"), "--json");
      expect(r.code, r.stderr).toBe(0);
      const x = JSON.parse(r.stdout) as {
        subtrees: { name: string; owner: string | null; length: number; listed?: { preservedData?: string } }[];
      };
      const t = live[i + 1]!;
      // Every child the next kernel found (whatever became of it) is in the image, and nothing else.
      const found = Object.values(t.subtrees).flatMap((list) => list.map((s) => s.name));
      expect(x.subtrees.map((s) => s.name).sort()).toEqual(found.sort());
      expect(t.subtrees.restored!.length).toBeGreaterThan(1);
      // Each restored subtree is where the live run found it, as long, and owned by the same plugin.
      for (const s of t.subtrees.restored!) {
        const seen = x.subtrees.find((y) => y.name === s.name)!;
        expect({ phys: seen.listed?.preservedData, size: seen.length, owner: seen.owner }).toEqual({
          phys: s.phys,
          size: s.size,
          owner: s.plugin,
        });
      }
    }
  });
});
