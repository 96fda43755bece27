import { imageInfo, readImageFile } from "@khosim/kho-core/image";
import { type Command, checkOptions, optFlag, parseArgs, UsageError } from "../command.js";

export const imageCommand: Command = {
  name: "image",
  summary: "show a handover image (ELF core file): segments, record, machine, release",
  usage: "kho image info FILE [--json]",
  run(args, io) {
    const p = parseArgs(args, ["json"]);
    checkOptions(p, ["json"]);
    const [sub, file, ...extra] = p.positional;
    if (sub !== "info")
      throw new UsageError(sub === undefined ? "expected a subcommand" : `unknown subcommand "${sub}"`);
    if (file === undefined || extra.length > 0) throw new UsageError("expected one FILE");
    const info = imageInfo(readImageFile(file));
    if (optFlag(p, "json")) {
      io.out(`${JSON.stringify(info)}\n`);
      return 0;
    }
    const lines = [
      `arch: ${info.arch}`,
      `release: ${info.release ?? "(none)"}`,
      `machine: page size ${info.machine.pageSize}`,
      ...info.machine.ram.map((r) => `  ram ${r.start}+${r.size} node ${r.nid}`),
    ];
    if (!info.record) lines.push("record: none (a kernel booted from this image boots cold)");
    else {
      lines.push(`record: ${info.record.format}, ${info.record.bytes} bytes`);
      const d = info.record.decoded;
      if (d) lines.push(`  fdt ${d.fdtPa}+${d.fdtSize} scratch ${d.scratchPa}+${d.scratchSize}`);
      else lines.push(`  no KHO data in it${info.record.error ? `: ${info.record.error}` : ""}`);
    }
    for (const s of info.kexecSegments) lines.push(`segment: ${s.kind} ${s.pa}+${s.size}`);
    lines.push(
      `loads: ${info.totals.loads}, ${info.totals.fileBytes} bytes in the file, ${info.totals.memBytes} bytes of memory`,
    );
    for (const l of info.loads) lines.push(`  paddr ${l.paddr} memsz ${l.memsz} filesz ${l.filesz}`);
    io.out(`${lines.join("\n")}\n`);
    return 0;
  },
};
