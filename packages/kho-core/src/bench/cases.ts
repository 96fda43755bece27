/**
 * Every benchmark case the runner knows. Cases of this package are listed
 * here (a module exports its list and is added below); a workspace package
 * adds its own by naming a module that exports `benchCases` in its
 * package.json: `"khosim": { "benchCases": "./dist/bench.js" }`.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { blockSetCases } from "./blockset.js";
import type { BenchCase } from "./case.js";
import { FDT_CASES } from "./fdt.js";
import { radixCases } from "./radix.js";

const CORE_CASES: readonly (readonly BenchCase[])[] = [radixCases, blockSetCases, FDT_CASES];

interface PackageJson {
  readonly workspaces?: readonly string[];
  readonly khosim?: { readonly benchCases?: string };
}

const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8")) as PackageJson;

/** The repository root: the nearest folder above this module whose package.json lists workspaces. */
function repoRoot(): string | null {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const pj = join(dir, "package.json");
    if (existsSync(pj) && readJson(pj).workspaces !== undefined) return dir;
    if (dirname(dir) === dir) return null;
  }
}

/** Workspace folders; a pattern may end in `/*` (every folder in it), as npm allows. */
function workspaceDirs(root: string): string[] {
  return (readJson(join(root, "package.json")).workspaces ?? []).flatMap((w) => {
    if (!w.endsWith("/*")) return [resolve(root, w)];
    const parent = resolve(root, w.slice(0, -2));
    if (!existsSync(parent)) return [];
    return readdirSync(parent, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(parent, d.name));
  });
}

/** Cases of other workspace packages, from the modules their package.json names. */
async function workspaceCases(): Promise<BenchCase[]> {
  const root = repoRoot();
  if (root === null) return [];
  const out: BenchCase[] = [];
  for (const dir of workspaceDirs(root)) {
    const pj = join(dir, "package.json");
    const entry = existsSync(pj) ? readJson(pj).khosim?.benchCases : undefined;
    if (entry === undefined) continue;
    const mod = (await import(pathToFileURL(resolve(dir, entry)).href)) as { benchCases?: readonly BenchCase[] };
    if (!Array.isArray(mod.benchCases)) throw new Error(`${entry} of ${dir} does not export benchCases`);
    out.push(...mod.benchCases);
  }
  return out;
}

/** Every case, this package's first; names must be unique (a child process is started by name). */
export async function allBenchCases(): Promise<BenchCase[]> {
  const cases = [...CORE_CASES.flat(), ...(await workspaceCases())];
  const seen = new Set<string>();
  for (const c of cases) {
    if (seen.has(c.name)) throw new Error(`two benchmark cases are named ${c.name}`);
    seen.add(c.name);
  }
  return cases;
}
