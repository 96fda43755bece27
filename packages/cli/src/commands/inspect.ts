import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AnyPlugin } from "@khosim/kho-core";
import { decodeDebugfsDir, type FdtJsonNode } from "@khosim/kho-core/debugfs";
import {
  type ImageInspection,
  inspectImage,
  type RootFdtView,
  readImageFile,
  rootFdtView,
} from "@khosim/kho-core/image";
import { type Command, type Invocation, JSON_OPTION, optFlag, optString, UsageError } from "../command.js";
import { loadPlugins, PLUGIN_OPTIONS } from "../plugins.js";
import { type HtmlSection, renderHtmlPage } from "../render/html.js";
import { renderMemorySvg } from "../render/svg.js";
import { describeAll, printReport } from "./debugfs.js";

/** One line per node and property, indented by depth: what `kho inspect` calls the tree. */
function treeLines(n: FdtJsonNode, depth = 0): string[] {
  const pad = "  ".repeat(depth);
  const props = n.props.map((p) => {
    // A string list with empty members is a number that happens to end in NULs (blob-size).
    const str = p.string !== undefined && !p.string.split('", "').includes("") ? `"${p.string}"` : undefined;
    const v = str ?? p.u64 ?? (p.u32 !== undefined ? String(p.u32) : `[${p.hex}]`);
    return `${pad}  ${p.name} = ${v}`;
  });
  return [`${pad}${n.name || "/"}`, ...props, ...n.children.flatMap((c) => treeLines(c, depth + 1))];
}

function rootLines(v: RootFdtView | null): string[] {
  if (!v) return ["root FDT: none"];
  const r = v.report;
  const lines = [
    `root FDT (${r.file}): ${r.status}, ${r.length} bytes${r.totalsize !== null ? `, totalsize ${r.totalsize}` : ""}` +
      `${r.error ? ` (${r.error})` : ""}`,
  ];
  if (v.tree) lines.push("  tree:", ...treeLines(v.tree, 2));
  if (v.dts)
    lines.push(
      "  dts:",
      ...v.dts
        .trimEnd()
        .split("\n")
        .map((l) => `    ${l}`),
    );
  return lines;
}

function subtreeLine(t: ImageInspection["subtrees"][number]): string {
  const d = t.decoded;
  const head = `${t.name}: ${t.length} bytes at ${t.listed?.preservedData ?? "?"}, owner ${t.owner ?? "unknown"}`;
  switch (d.kind) {
    case "subtree":
      return `${head}, ${d.compatible}: ${JSON.stringify(d.fields)}`;
    case "fdt":
      return `${head}, FDT${d.compatible ? ` "${d.compatible}"` : ""} (no loaded plugin decodes it)`;
    case "raw":
      return `${head}, raw (no loaded plugin decodes it), starts ${d.head || "(empty)"}`;
  }
}

function radixLine(r: ImageInspection["radix"]): string {
  if (r.status !== "walked") return `radix tree${r.root ? ` at ${r.root}` : ""}: ${r.status}: ${r.reason}`;
  const orders = Object.entries(r.byOrder).map(([o, n]) => `order ${o}: ${n}`);
  return (
    `radix tree at ${r.root}: ${r.blocks} keys (${orders.join(", ") || "none"}), ${r.pages} pages, ` +
    `${r.preservedBytes} bytes preserved, ${r.nodePages} node pages`
  );
}

function imageLines(x: ImageInspection): string[] {
  const i = x.info;
  const rec = i.record?.decoded;
  return [
    `image: ${i.arch}, release ${i.release ?? "(none)"}, ${i.machine.pageSize}-byte pages`,
    ...i.machine.ram.map((r) => `  ram ${r.start}+${r.size} node ${r.nid}`),
    rec
      ? `record: ${i.record?.format}, root FDT ${rec.fdtPa}+${rec.fdtSize}, ` +
        `scratch array ${rec.scratchPa}+${rec.scratchSize}`
      : "record: none",
    ...i.kexecSegments.map((s) => `kexec segment: ${s.kind} ${s.pa}+${s.size}`),
    ...(x.scratch?.areas ?? []).map((a) => `scratch ${a.addr}+${a.size}`),
    ...rootLines(x.rootFdt),
    "subtrees:",
    ...(x.subtrees.length ? x.subtrees.map((t) => `  ${subtreeLine(t)}`) : ["  (none)"]),
    radixLine(x.radix),
    ...x.problems.map((p) => `problem: ${p}`),
  ];
}

function imageSections(x: ImageInspection): HtmlSection[] {
  return [
    { title: "image", kind: "lines", lines: imageLines(x).filter((l) => !l.startsWith("    ")) },
    {
      title: "subtrees",
      kind: "table",
      className: "subtrees",
      head: ["name", "owner", "phys", "size", "decoded"],
      rows: x.subtrees.map((t) => [
        t.name,
        t.owner ?? "unknown",
        t.listed?.preservedData ?? "",
        String(t.length),
        t.decoded.kind === "subtree" ? `${t.decoded.compatible}: ${JSON.stringify(t.decoded.fields)}` : t.decoded.kind,
      ]),
    },
    { title: "root FDT (dtc)", kind: "lines", lines: [x.rootFdt?.dts ?? "(not printable)"] },
  ];
}

/** Reading the input: anything wrong with it is one line and exit 2, whatever threw. */
function readInput<T>(inv: Invocation, what: string, read: () => T): T | null {
  try {
    return read();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    inv.io.err(`kho inspect: ${what}: ${typeof code === "string" ? `${code}: ` : ""}${(e as Error).message}\n`);
    return null;
  }
}

async function inspectDebugfs(inv: Invocation, dir: string, plugins: readonly AnyPlugin[]): Promise<number> {
  if (optString(inv.values, "svg") !== undefined)
    throw new UsageError("--svg needs an image: a debugfs copy holds no memory to draw");
  const read = readInput(inv, dir, () => {
    const report = decodeDebugfsDir(
      dir,
      plugins.flatMap((p) => p.subtrees ?? []),
    );
    const side = report.in?.fdt ? "in" : "out";
    const fdt = report[side]?.fdt;
    const root = fdt ? rootFdtView(fdt, new Uint8Array(readFileSync(join(dir, fdt.file)))) : null;
    return { report, root, described: describeAll(report, plugins) };
  });
  if (!read) return 2;
  const { report, root, described } = read;
  const radix = { status: "unavailable", reason: "a debugfs copy has no memory pages" } as const;
  const lines = [
    ...rootLines(root),
    printReport(report, described).trimEnd(),
    `radix tree: ${radix.status}: ${radix.reason}`,
  ];
  const html = optString(inv.values, "html");
  if (html !== undefined)
    writeFileSync(
      html,
      renderHtmlPage(
        `kho inspect --debugfs ${dir}`,
        [],
        [{ label: dir, status: "debugfs", map: null, sections: [{ title: "decoded", kind: "lines", lines }] }],
      ),
    );
  if (optFlag(inv.values, "json"))
    inv.io.out(
      `${JSON.stringify({ source: "debugfs", ...report, rootFdt: root, radix, described: [...described.values()] })}\n`,
    );
  else inv.io.out(`${lines.join("\n")}\n`);
  return 0;
}

export const inspectCommand: Command = {
  name: "inspect",
  summary: "read a handover image (or a debugfs kho/ copy): root FDT, subtrees, radix tree, scratch, memory map",
  args: "[IMAGE]",
  example: "kho inspect handover.core --svg memory.svg",
  options: {
    debugfs: { type: "string", arg: "DIR", help: "inspect a copy of debugfs kho/ instead of an image" },
    svg: { type: "string", arg: "FILE", help: "draw the image's memory map as SVG into FILE" },
    html: { type: "string", arg: "FILE", help: "write a self-contained HTML page of what is shown into FILE" },
    "legacy-radix-depth": {
      type: "boolean",
      help: "walk the radix tree with the depth of kernels before d64b0372760e",
    },
    ...JSON_OPTION,
    ...PLUGIN_OPTIONS,
  },
  async run(inv) {
    const dir = optString(inv.values, "debugfs");
    if (dir !== undefined && inv.positionals.length > 0)
      throw new UsageError("give an IMAGE or --debugfs DIR, not both");
    if (dir === undefined && inv.positionals.length !== 1)
      throw new UsageError(
        inv.positionals.length ? `unexpected argument "${inv.positionals[1]}"` : "expected IMAGE or --debugfs DIR",
      );
    const plugins = await loadPlugins(inv.values);
    if (dir !== undefined) return inspectDebugfs(inv, dir, plugins);
    const file = inv.positionals[0]!;
    const x = readInput(inv, file, () =>
      inspectImage(readImageFile(file), plugins, { legacyRadixDepth: optFlag(inv.values, "legacy-radix-depth") }),
    );
    if (!x) return 2;
    const svg = optString(inv.values, "svg");
    if (svg !== undefined) writeFileSync(svg, renderMemorySvg(x.memoryMap, `${file}: memory at the jump`));
    const html = optString(inv.values, "html");
    if (html !== undefined)
      writeFileSync(
        html,
        renderHtmlPage(
          `kho inspect ${file}`,
          [],
          [
            {
              label: `${x.info.release ?? "image"} at the jump`,
              status: "image",
              map: x.memoryMap,
              sections: imageSections(x),
            },
          ],
        ),
      );
    if (optFlag(inv.values, "json")) inv.io.out(`${JSON.stringify(x)}\n`);
    else inv.io.out(`${imageLines(x).join("\n")}\n`);
    return 0;
  },
};
