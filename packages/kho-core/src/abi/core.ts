import { khoBlockAbi } from "./block.js";
import { generateNodeMarkdown } from "./gen-markdown.js";
import { khoRootAbi, khoVmallocAbi } from "./kexec-handover.js";
import { groupAbiNodes } from "./nodes.js";
import type { AbiSchema } from "./schema.js";
import { khoScratchAbi } from "./scratch.js";
import { x86KhoDataAbi } from "./x86-setup-data.js";

/** The ABIs KHO itself defines, in the order the docs index lists them. */
export const CORE_ABIS: readonly AbiSchema[] = [khoRootAbi, khoBlockAbi, khoVmallocAbi, khoScratchAbi, x86KhoDataAbi];

/**
 * docs/abi/ contents: one page per KHO node (every version of it) plus an
 * index, keyed by file name.
 */
export function renderAbiDocs(schemas: readonly AbiSchema[] = CORE_ABIS): Map<string, string> {
  const files = new Map<string, string>();
  const index = ["# Handover ABI", "", "Generated from the ABI schemas; regenerate with `npm run docs`.", ""];
  for (const node of groupAbiNodes(schemas)) {
    files.set(`${node.name}.md`, generateNodeMarkdown(node));
    const only = node.versions.length === 1 ? node.versions[0]! : null;
    index.push(
      only
        ? `- [${only.title}](${node.name}.md)`
        : `- [${node.name}](${node.name}.md): versions ${node.versions.map((v) => v.version).join(", ")}`,
    );
  }
  files.set("README.md", `${index.join("\n")}\n`);
  return files;
}
