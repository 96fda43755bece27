import { type Command, expectArgs, optFlag, optString } from "../command.js";
import { docsDrift, renderDocs, writeDocs } from "../docs.js";
import { loadPlugins, PLUGIN_OPTIONS } from "../plugins.js";
import { abisOf } from "../schemas.js";

/** Where the docs live in this repository, relative to the working directory. */
export const DEFAULT_DOCS_DIR = "docs/abi";

export const docsCommand: Command = {
  name: "docs",
  summary: "write (or --check) the ABI pages, C headers and JSON Schemas of every subtree into docs/abi",
  args: "",
  example: "kho docs --check",
  options: {
    out: { type: "string", arg: "DIR", help: `the docs folder (default ${DEFAULT_DOCS_DIR})` },
    check: { type: "boolean", help: "write nothing; exit 1 naming every file that is stale, missing or extra" },
    ...PLUGIN_OPTIONS,
  },
  async run(inv) {
    expectArgs(inv, []);
    const dir = optString(inv.values, "out") ?? DEFAULT_DOCS_DIR;
    const files = renderDocs(abisOf(await loadPlugins(inv.values)));
    if (!optFlag(inv.values, "check")) {
      writeDocs(dir, files);
      inv.io.out(`wrote ${files.size} files to ${dir}\n`);
      return 0;
    }
    const d = docsDrift(dir, files);
    const lines = [
      ...d.stale.map((f) => `stale: ${dir}/${f}`),
      ...d.missing.map((f) => `missing: ${dir}/${f}`),
      ...d.extra.map((f) => `extra: ${dir}/${f} (no ABI makes it)`),
    ];
    if (lines.length === 0) {
      inv.io.out(`${dir}: ${files.size} files up to date\n`);
      return 0;
    }
    inv.io.err(`${lines.join("\n")}\n${dir} is out of date: run \`npm run docs\` (kho docs --out ${dir})\n`);
    return 1;
  },
};
