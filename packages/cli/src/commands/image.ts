import { imageInfo, readImageFile } from "@khosim/kho-core/image";
import { type Command, expectArgs, JSON_OPTION, type Leaf, optFlag } from "../command.js";

const infoCommand: Leaf = {
  name: "info",
  summary: "segments, handover record, machine and release of an image",
  args: "FILE",
  example: "kho image info handover.core --json",
  options: JSON_OPTION,
  run(inv) {
    const [file] = expectArgs(inv, ["FILE"]);
    const info = imageInfo(readImageFile(file!));
    if (optFlag(inv.values, "json")) {
      inv.io.out(`${JSON.stringify(info)}\n`);
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
    const t = info.totals;
    lines.push(`loads: ${t.loads}, ${t.fileBytes} bytes in the file, ${t.memBytes} bytes of memory`);
    for (const l of info.loads) lines.push(`  paddr ${l.paddr} memsz ${l.memsz} filesz ${l.filesz}`);
    if (info.seeded.length) lines.push(`seeded: ${info.seeded.length} run(s), ${t.seededBytes} bytes of memory`);
    for (const r of info.seeded) lines.push(`  ${r.pa}+${r.size} seed ${r.seed}`);
    inv.io.out(`${lines.join("\n")}\n`);
    return 0;
  },
};

export const imageCommand: Command = {
  name: "image",
  summary: "show a handover image (ELF core file): segments, record, machine, release",
  example: "kho image info handover.core",
  subcommands: [infoCommand],
};
