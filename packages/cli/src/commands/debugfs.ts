import type { AnyPlugin } from "@khosim/kho-core";
import { abiId } from "@khosim/kho-core/abi";
import {
  type BlobReport,
  type DebugfsReport,
  debugfsView,
  decodeDebugfsDir,
  type SideReport,
  writeDebugfs,
} from "@khosim/kho-core/debugfs";
import { bootFromImage, readImageFile } from "@khosim/kho-core/image";
import { type Command, expectArgs, JSON_OPTION, type Leaf, optFlag, optString, UsageError } from "../command.js";
import { describeSubtree, descriptionLine, type SubtreeDescription } from "../describe.js";
import { loadPlugins, PLUGIN_OPTIONS } from "../plugins.js";

function children(node: { readonly children: readonly unknown[] }): string {
  return `${node.children.length} child node(s)`;
}

function blobLine(b: BlobReport): string {
  const d = b.decoded;
  switch (d.kind) {
    case "subtree":
      return `${d.compatible} ${JSON.stringify(d.fields)}`;
    case "fdt":
      return (
        `FDT totalsize ${d.totalsize}${d.compatible ? ` compatible "${d.compatible}"` : ""}, ${children(d.root)}` +
        (d.note ? ` (${d.note})` : "")
      );
    case "raw":
      return `raw, starts ${d.head || "(empty)"}`;
  }
}

function printSide(name: string, s: SideReport, described: Map<BlobReport, SubtreeDescription>, lines: string[]): void {
  lines.push(`${name}/`);
  const f = s.fdt;
  if (f) {
    const total = f.totalsize !== null ? `, totalsize ${f.totalsize}` : "";
    lines.push(`  fdt: ${f.status}, ${f.length} bytes${total}${f.error ? ` (${f.error})` : ""}`);
    const map = f.preservedMemoryMap;
    if (map) {
      const problem = map.problem ? ` (${map.problem})` : "";
      lines.push(`    preserved-memory-map ${map.pa ?? "-"}${problem}: radix tree ${map.radixTree}`);
    }
    for (const t of f.subtrees) {
      const problems = t.problems.length ? ` (${t.problems.join("; ")})` : "";
      lines.push(`    ${t.name}: preserved-data ${t.preservedData ?? "-"} blob-size ${t.blobSize ?? "-"}${problems}`);
    }
  }
  if (s.scratch) {
    for (const a of s.scratch.areas) lines.push(`  scratch ${a.addr}+${a.size}`);
    for (const p of s.scratch.problems) lines.push(`  scratch problem: ${p}`);
  }
  for (const b of s.subFdts) {
    lines.push(`  sub_fdts/${b.name} (${b.length} bytes): ${blobLine(b)}`);
    const d = described.get(b);
    if (d) lines.push(`    ${descriptionLine(d)}`);
    for (const p of b.problems) lines.push(`    problem: ${p}`);
    for (const u of b.unavailable) lines.push(`    ${u}`);
  }
}

/** The human form of a decoded debugfs copy (`kho debugfs decode`, `kho inspect --debugfs`). */
export function printReport(r: DebugfsReport, described: Map<BlobReport, SubtreeDescription>): string {
  const lines: string[] = [];
  if (r.in) printSide("in", r.in, described, lines);
  if (r.out) printSide("out", r.out, described, lines);
  if (!r.in && !r.out) lines.push("no in/ or out/ files");
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return `${lines.join("\n")}\n`;
}

/**
 * Every blob of the copy that a loaded plugin's version decoded, named by
 * that plugin. The decoder already asked the versions (`decodeDebugfsDir`);
 * this only says whose each one was, without reading the files again. The
 * description's problems are the blob's own (`BlobReport.problems`).
 */
export function describeAll(r: DebugfsReport, plugins: readonly AnyPlugin[]): Map<BlobReport, SubtreeDescription> {
  const out = new Map<BlobReport, SubtreeDescription>();
  const owned = plugins.flatMap((p) => (p.subtrees ?? []).map((v) => ({ plugin: p.name, abi: v.abi })));
  for (const side of [r.in, r.out])
    for (const b of side?.subFdts ?? []) {
      const d = b.decoded;
      if (d.kind !== "subtree") continue;
      const o = owned.find((x) => x.abi.name === b.name && x.abi.version === d.version);
      if (o) out.set(b, { name: b.name, plugin: o.plugin, id: abiId(o.abi), value: d.fields });
    }
  return out;
}

const decode: Leaf = {
  name: "decode",
  summary: "decode a copy of the kernel's debugfs kho/ directory; plugins decode their subtrees",
  args: "DIR",
  example: "kho debugfs decode ./kho --plugin ./my-plugin.mjs",
  options: { ...JSON_OPTION, ...PLUGIN_OPTIONS },
  errorExit: 2,
  async run(inv) {
    const [dir] = expectArgs(inv, ["DIR"]);
    const plugins = await loadPlugins(inv.values);
    const report = decodeDebugfsDir(
      dir!,
      plugins.flatMap((p) => p.subtrees ?? []),
    );
    const described = describeAll(report, plugins);
    if (optFlag(inv.values, "json"))
      inv.io.out(`${JSON.stringify({ ...report, described: [...described.values()] })}\n`);
    else inv.io.out(printReport(report, described));
    return 0;
  },
};

const dump: Leaf = {
  name: "dump",
  summary: "boot a kernel from a handover image and write its kho/ view into DIR (never outside it)",
  args: "IMAGE DIR",
  example: "kho debugfs dump handover.core ./kho --release 7.2.0-rc1",
  options: {
    release: { type: "string", arg: "R", help: "uname -r of the kernel booted from the image (default khosim)" },
    cmdline: { type: "string", arg: "S", help: "its command line (default kho=on)" },
    arch: { type: "string", arg: "x86|arm64", help: "how it reads the handover record (default: the image's)" },
    ...JSON_OPTION,
    ...PLUGIN_OPTIONS,
  },
  errorExit: 2,
  async run(inv) {
    const [imageFile, dir] = expectArgs(inv, ["IMAGE", "DIR"]);
    const arch = optString(inv.values, "arch");
    if (arch !== undefined && arch !== "x86" && arch !== "arm64") throw new UsageError("--arch is x86 or arm64");
    const plugins = await loadPlugins(inv.values);
    const image = readImageFile(imageFile!);
    const cmdline = optString(inv.values, "cmdline");
    const { kernel } = bootFromImage(image, {
      release: optString(inv.values, "release") ?? "khosim",
      arch: arch ?? (image.arch === "x86_64" ? "x86" : "arm64"),
      ...(cmdline !== undefined ? { cmdline } : {}),
    });
    const view = debugfsView(kernel);
    writeDebugfs(dir!, view);
    const described = [...view.files].flatMap(([path, bytes]) => {
      const name = path.startsWith("in/sub_fdts/") ? path.slice("in/sub_fdts/".length) : null;
      const d = name === null ? null : describeSubtree(plugins, name, bytes);
      return d ? [{ path, ...d }] : [];
    });
    if (optFlag(inv.values, "json")) {
      const files = [...view.files.keys()];
      inv.io.out(`${JSON.stringify({ bootKind: kernel.bootKind, files, warnings: view.warnings, described })}\n`);
      return 0;
    }
    inv.io.out(`${kernel.bootKind} boot; wrote ${view.files.size} file(s) to ${dir}\n`);
    for (const d of described) inv.io.out(`${d.path}: ${descriptionLine(d)}\n`);
    for (const w of view.warnings) inv.io.err(`${w}\n`);
    return 0;
  },
};

export const debugfsCommand: Command = {
  name: "debugfs",
  summary: "decode a copy of debugfs kho/, or dump the kho/ view of a kernel booted from an image",
  example: "kho debugfs decode /sys/kernel/debug/kho",
  subcommands: [decode, dump],
};
