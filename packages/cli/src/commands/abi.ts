import { type AbiPageSize, type AbiSchema, parseSize } from "@khosim/kho-core";
import {
  type AbiNode,
  abiId,
  generateAbiJsonSchema,
  generateCHeader,
  generateNodeMarkdown,
  groupAbiNodes,
} from "@khosim/kho-core/abi";
import {
  type Command,
  expectArgs,
  type Invocation,
  JSON_OPTION,
  type Leaf,
  optFlag,
  optString,
  UsageError,
} from "../command.js";
import { renderDocs, writeDocs } from "../docs.js";
import { loadPlugins, PLUGIN_OPTIONS } from "../plugins.js";
import { abisOf } from "../schemas.js";

async function nodes(inv: Invocation): Promise<AbiNode[]> {
  return groupAbiNodes(abisOf(await loadPlugins(inv.values)));
}

/** A node by name, or the node holding the version with that id. */
function findNode(all: readonly AbiNode[], name: string): AbiNode {
  const hit = all.find((n) => n.name === name) ?? all.find((n) => n.versions.some((v) => abiId(v) === name));
  if (!hit) throw new UsageError(`no ABI "${name}"; kho abi list shows them`);
  return hit;
}

/** One version: by its id, or by a node name when the node has only one. */
function findVersion(all: readonly AbiNode[], name: string): AbiSchema {
  const node = findNode(all, name);
  const exact = node.versions.find((v) => abiId(v) === name);
  if (exact) return exact;
  if (node.versions.length > 1)
    throw new UsageError(`${name} has versions ${node.versions.map(abiId).join(", ")}: name one`);
  return node.versions[0]!;
}

function pageSizeOf(text: string | undefined): AbiPageSize {
  const n = parseSize(text ?? "4KiB", "page size");
  if (n !== 4096 && n !== 16384 && n !== 65536) throw new UsageError(`page size ${text} is not 4KiB, 16KiB or 64KiB`);
  return n;
}

const PAGE_SIZE_OPTION = {
  "page-size": { type: "string", arg: "SIZE", help: "PAGE_SIZE of page-size dependent layouts: 4KiB, 16KiB, 64KiB" },
} as const;

const list: Leaf = {
  name: "list",
  summary: "every ABI version: id, node, kind, format, version, title",
  args: "",
  example: "kho abi list --plugin examples/counter-plugin",
  options: { ...JSON_OPTION, ...PLUGIN_OPTIONS },
  async run(inv) {
    expectArgs(inv, []);
    const versions = (await nodes(inv)).flatMap((n) => n.versions);
    if (optFlag(inv.values, "json")) {
      const rows = versions.map((a) => ({
        id: abiId(a),
        node: a.name,
        kind: a.kind,
        format: a.format,
        version: a.version,
        compatible: a.compatible,
        title: a.title,
      }));
      inv.io.out(`${JSON.stringify(rows)}\n`);
    } else
      for (const a of versions)
        inv.io.out(`${abiId(a)}\t${a.name}\t${a.kind}\t${a.format}\t${a.version}\t${a.title}\n`);
    return 0;
  },
};

const doc: Leaf = {
  name: "doc",
  summary: "the Markdown page of a node (every version), by node name or version id",
  args: "NAME",
  example: "kho abi doc kexec-metadata",
  options: PLUGIN_OPTIONS,
  async run(inv) {
    const [name] = expectArgs(inv, ["NAME"]);
    inv.io.out(generateNodeMarkdown(findNode(await nodes(inv), name!)));
    return 0;
  },
};

const header: Leaf = {
  name: "header",
  summary: "the C11 header of one version, with its own include guard",
  args: "ID",
  example: "kho abi header counter-v2 --plugin examples/counter-plugin",
  options: { ...PAGE_SIZE_OPTION, ...PLUGIN_OPTIONS },
  async run(inv) {
    const [id] = expectArgs(inv, ["ID"]);
    const pageSize = pageSizeOf(optString(inv.values, "page-size"));
    inv.io.out(generateCHeader(findVersion(await nodes(inv), id!), { pageSize }));
    return 0;
  },
};

const jsonSchema: Leaf = {
  name: "json-schema",
  summary: "the JSON Schema of one version's decoded value",
  args: "ID",
  example: "kho abi json-schema kexec-metadata-v1",
  options: { ...PAGE_SIZE_OPTION, ...PLUGIN_OPTIONS },
  async run(inv) {
    const [id] = expectArgs(inv, ["ID"]);
    const pageSize = pageSizeOf(optString(inv.values, "page-size"));
    inv.io.out(`${JSON.stringify(generateAbiJsonSchema(findVersion(await nodes(inv), id!), pageSize), null, 2)}\n`);
    return 0;
  },
};

const docs: Leaf = {
  name: "docs",
  summary: "write the ABI pages, C headers and JSON Schemas into DIR (as `kho docs --out DIR`)",
  args: "",
  example: "kho abi docs --out docs/abi",
  options: { out: { type: "string", arg: "DIR", help: "the folder to write (required)" }, ...PLUGIN_OPTIONS },
  async run(inv) {
    expectArgs(inv, []);
    const out = optString(inv.values, "out");
    if (!out) throw new UsageError("docs needs --out DIR");
    const files = renderDocs(abisOf(await loadPlugins(inv.values)));
    writeDocs(out, files);
    inv.io.out(`wrote ${files.size} files to ${out}\n`);
    return 0;
  },
};

export const abiCommand: Command = {
  name: "abi",
  summary: "the handover ABI from the schemas: list, Markdown, C header, JSON Schema, docs/abi",
  example: "kho abi header kexec-metadata-v1 --page-size 16KiB",
  subcommands: [list, doc, header, jsonSchema, docs],
};
