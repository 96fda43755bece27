import {
  type BlobReport,
  bootFromImage,
  type DebugfsReport,
  debugfsView,
  decodeDebugfsDir,
  prepareOutputDir,
  readImageFile,
  type SideReport,
  writeDebugfs,
} from "@khosim/kho-core";
import { type Command, checkOptions, type Io, optFlag, optString, parseArgs, UsageError } from "../command.js";

function blobLine(b: BlobReport): string {
  const d = b.decoded;
  switch (d.kind) {
    case "kexec-metadata":
      return `kexec-metadata v${d.version ?? "?"} from "${d.previousRelease ?? "?"}" count ${d.kexecCount ?? "?"}`;
    case "luo":
      return `luo_ser ${d.compatible ?? "?"} liveupdate_num ${d.liveupdateNum ?? "?"} sessions_pa ${d.sessionsPa ?? "?"} flbs_pa ${d.flbsPa ?? "?"}`;
    case "fdt":
      return `FDT totalsize ${d.totalsize}${d.compatible ? ` compatible "${d.compatible}"` : ""}, ${d.root.children.length} child node(s)`;
    case "raw":
      return `raw, starts ${d.head || "(empty)"}`;
  }
}

function printSide(name: string, s: SideReport, lines: string[]): void {
  lines.push(`${name}/`);
  const f = s.fdt;
  if (f) {
    lines.push(
      `  fdt: ${f.status}, ${f.length} bytes${f.totalsize !== null ? `, totalsize ${f.totalsize}` : ""}${f.error ? ` (${f.error})` : ""}`,
    );
    if (f.preservedMemoryMap)
      lines.push(
        `    preserved-memory-map ${f.preservedMemoryMap.pa ?? "-"}${f.preservedMemoryMap.problem ? ` (${f.preservedMemoryMap.problem})` : ""}: radix tree ${f.preservedMemoryMap.radixTree}`,
      );
    for (const t of f.subtrees)
      lines.push(
        `    ${t.name}: preserved-data ${t.preservedData ?? "-"} blob-size ${t.blobSize ?? "-"}${t.problems.length ? ` (${t.problems.join("; ")})` : ""}`,
      );
  }
  if (s.scratch) {
    for (const a of s.scratch.areas) lines.push(`  scratch ${a.addr}+${a.size}`);
    for (const p of s.scratch.problems) lines.push(`  scratch problem: ${p}`);
  }
  for (const b of s.subFdts) {
    lines.push(`  sub_fdts/${b.name} (${b.length} bytes): ${blobLine(b)}`);
    for (const p of b.problems) lines.push(`    problem: ${p}`);
    for (const u of b.unavailable) lines.push(`    ${u}`);
  }
}

function printReport(r: DebugfsReport, io: Io): void {
  const lines: string[] = [];
  if (r.in) printSide("in", r.in, lines);
  if (r.out) printSide("out", r.out, lines);
  if (!r.in && !r.out) lines.push("no in/ or out/ files");
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  io.out(`${lines.join("\n")}\n`);
}

export const debugfsCommand: Command = {
  name: "debugfs",
  summary: "decode a copy of debugfs kho/, or dump the kho/ view of a kernel booted from an image",
  usage: "kho debugfs decode DIR [--json] | kho debugfs dump IMAGE DIR [--release R] [--cmdline S] [--handover x86|dt]",
  run(args, io) {
    const p = parseArgs(args, ["json"]);
    const [sub, ...rest] = p.positional;
    if (sub === "decode") {
      checkOptions(p, ["json"]);
      if (rest.length !== 1) throw new UsageError("expected one DIR");
      const report = decodeDebugfsDir(rest[0]!);
      if (optFlag(p, "json")) io.out(`${JSON.stringify(report)}\n`);
      else printReport(report, io);
      return 0;
    }
    if (sub === "dump") {
      checkOptions(p, ["release", "cmdline", "handover"]);
      if (rest.length !== 2) throw new UsageError("expected IMAGE and DIR");
      const handover = optString(p, "handover");
      if (handover !== undefined && handover !== "x86" && handover !== "dt")
        throw new UsageError("--handover is x86 or dt");
      const image = readImageFile(rest[0]!);
      const fmt = handover ?? image.record?.format ?? "x86";
      const cmdline = optString(p, "cmdline");
      const { kernel } = bootFromImage(image, {
        release: optString(p, "release") ?? "khosim",
        handover: fmt,
        ...(cmdline !== undefined ? { cmdline } : {}),
      });
      const view = debugfsView(kernel);
      prepareOutputDir(rest[1]!);
      writeDebugfs(rest[1]!, view);
      io.out(`${kernel.bootKind} boot; wrote ${view.files.size} file(s) to ${rest[1]}\n`);
      for (const w of view.warnings) io.err(`${w}\n`);
      return 0;
    }
    throw new UsageError(sub === undefined ? "expected a subcommand" : `unknown subcommand "${sub}"`);
  },
};
