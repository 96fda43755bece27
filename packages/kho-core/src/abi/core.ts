import { khoBlockAbi } from "./block.js";
import { generateMarkdown } from "./gen-markdown.js";
import { khoRootAbi, khoVmallocAbi } from "./kexec-handover.js";
import type { AbiSchema } from "./schema.js";
import { khoScratchAbi } from "./scratch.js";
import { x86KhoDataAbi } from "./x86-setup-data.js";

/** The ABIs KHO itself defines, in the order the docs index lists them. */
export const CORE_ABIS: readonly AbiSchema[] = [khoRootAbi, khoBlockAbi, khoVmallocAbi, khoScratchAbi, x86KhoDataAbi];

/** docs/abi/ contents: one page per ABI plus an index, keyed by file name. */
export function renderAbiDocs(schemas: readonly AbiSchema[] = CORE_ABIS): Map<string, string> {
  const files = new Map<string, string>();
  const index = ["# Handover ABI", "", "Generated from the ABI schemas; regenerate with `npm run docs`.", ""];
  for (const s of schemas) {
    files.set(`${s.name}.md`, generateMarkdown(s));
    index.push(`- [${s.title}](${s.name}.md)`);
  }
  files.set("README.md", `${index.join("\n")}\n`);
  return files;
}
