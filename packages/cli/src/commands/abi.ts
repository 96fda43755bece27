import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type AbiPageSize,
  type AbiSchema,
  generateAbiJsonSchema,
  generateCHeader,
  generateMarkdown,
  parseSize,
  prepareOutputDir,
  renderAbiDocs,
} from "@khosim/kho-core";
import { type Command, checkOptions, optString, parseArgs, UsageError } from "../command.js";
import { ALL_ABIS } from "../schemas.js";

function find(name: string | undefined): AbiSchema {
  if (name === undefined) throw new UsageError("name an ABI (kho abi list shows them)");
  const s = ALL_ABIS.find((a) => a.name === name);
  if (!s) throw new UsageError(`no ABI "${name}"; known: ${ALL_ABIS.map((a) => a.name).join(", ")}`);
  return s;
}

function pageSizeOf(text: string | undefined): AbiPageSize {
  const n = parseSize(text ?? "4KiB", "page size");
  if (n !== 4096 && n !== 16384 && n !== 65536) throw new UsageError(`page size ${text} is not 4KiB, 16KiB or 64KiB`);
  return n;
}

/**
 * Writes docs for every ABI into `dir`: one Markdown page each and an
 * index. Pages left from ABIs that no longer exist are removed.
 */
export function writeAbiDocs(dir: string): string[] {
  const files = renderAbiDocs(ALL_ABIS);
  prepareOutputDir(dir);
  for (const old of readdirSync(dir)) if (old.endsWith(".md") && !files.has(old)) rmSync(join(dir, old));
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  return [...files.keys()];
}

export const abiCommand: Command = {
  name: "abi",
  summary: "the handover ABI from the schemas: list, Markdown, C header, JSON Schema, docs/abi",
  usage:
    "kho abi list | doc NAME | header NAME [--page-size 4KiB] | json-schema NAME [--page-size 4KiB] | docs --out DIR",
  run(args, io) {
    const p = parseArgs(args);
    const [verb, name, ...rest] = p.positional;
    if (rest.length) throw new UsageError(`unexpected argument ${rest[0]}`);
    switch (verb) {
      case "list":
        checkOptions(p, []);
        for (const a of ALL_ABIS)
          io.out(`${a.name}\t${a.kind}\t${a.format}\t${a.version}\t${a.compatible.join(",") || "-"}\t${a.title}\n`);
        return 0;
      case "doc":
        checkOptions(p, []);
        io.out(generateMarkdown(find(name)));
        return 0;
      case "header":
        checkOptions(p, ["page-size"]);
        io.out(generateCHeader(find(name), { pageSize: pageSizeOf(optString(p, "page-size")) }));
        return 0;
      case "json-schema":
        checkOptions(p, ["page-size"]);
        io.out(
          `${JSON.stringify(generateAbiJsonSchema(find(name), pageSizeOf(optString(p, "page-size"))), null, 2)}\n`,
        );
        return 0;
      case "docs": {
        checkOptions(p, ["out"]);
        const out = optString(p, "out");
        if (!out) throw new UsageError("docs needs --out DIR");
        io.out(`wrote ${writeAbiDocs(out).length} files to ${out}\n`);
        return 0;
      }
      default:
        throw new UsageError(verb === undefined ? "missing subcommand" : `unknown subcommand "${verb}"`);
    }
  },
};
