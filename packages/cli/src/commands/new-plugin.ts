import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { pathInside } from "@khosim/kho-core/fs";
import { type Command, expectArgs, optString, UsageError } from "../command.js";
import { VERSION } from "../main.js";
import { pluginNameProblem } from "../scaffold/name.js";
import { scaffoldFiles } from "../scaffold/templates.js";

/** The folder to scaffold into: absent, or an empty directory. Anything else is a usage error. */
function checkTarget(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} exists and is not a directory`);
  if (readdirSync(dir).length > 0) throw new UsageError(`${dir} is not empty: refusing to write into it`);
}

export const newPluginCommand: Command = {
  name: "new-plugin",
  summary: "scaffold a plugin package: schema module, hooks, an action, a scenario and a passing test",
  args: "NAME",
  example: "kho new-plugin my_cache --dir ../my_cache",
  options: {
    dir: { type: "string", arg: "DIR", help: "the folder to create (default: ./NAME); must be absent or empty" },
  },
  run(inv) {
    const [name] = expectArgs(inv, ["NAME"]) as [string];
    const problem = pluginNameProblem(name);
    if (problem !== null) throw new UsageError(problem);
    const dir = resolve(optString(inv.values, "dir") ?? name);
    checkTarget(dir);
    // Every path is built by pathInside: whatever the templates name, nothing lands outside DIR.
    for (const file of scaffoldFiles(name, VERSION)) {
      mkdirSync(pathInside(dir, ...file.path.slice(0, -1)), { recursive: true });
      writeFileSync(pathInside(dir, ...file.path), file.text, { flag: "wx" });
      inv.io.out(`wrote ${relative(process.cwd(), pathInside(dir, ...file.path)) || "."}\n`);
    }
    inv.io.out(`\nnext: cd ${relative(process.cwd(), dir) || "."} && npm install && npm test\n`);
    return 0;
  },
};
