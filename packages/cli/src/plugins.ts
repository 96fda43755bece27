import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type AnyPlugin, KhoError } from "@khosim/kho-core";
import { hugetlbSamplePlugin } from "@khosim/plugin-hugetlb-sample";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { luoPlugin, memfdLuoPlugin } from "@khosim/plugin-luo";
import type { OptionSpec, OptionValues } from "./command.js";
import { optList, optString } from "./command.js";

/**
 * Where `kho` finds plugins beyond its own: a config file and `--plugin`.
 *
 * A plugin module is an ES module that exports its plugins as
 * `export const plugins = [...]`, or as its default export (one plugin or
 * an array). `--plugin` takes a file, a package folder (its package.json
 * `exports["."]`, or `main`) or a package name resolved from the working
 * directory's node_modules. `kho.config.json` (`{ "plugins": ["./x.mjs",
 * "some-package"] }`) or `kho.config.mjs` (default export `{ plugins }`,
 * whose entries may also be plugin objects) is read from the working
 * directory, or from `--config FILE`; its paths are relative to its folder.
 */
export const PLUGIN_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  plugin: { type: "string", multiple: true, arg: "MODULE|PATH", help: "load the plugins a module exports" },
  config: { type: "string", arg: "FILE", help: "read plugins from FILE (default: ./kho.config.json or .mjs)" },
};

/** The plugins every `kho` knows: the in-repo packages the CLI depends on. */
export const BUILTIN_PLUGINS: readonly AnyPlugin[] = [
  kexecMetadataPlugin,
  luoPlugin,
  memfdLuoPlugin,
  hugetlbSamplePlugin,
];

export const CONFIG_FILES = ["kho.config.json", "kho.config.mjs"] as const;

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function readJson(file: string): Json {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Json;
  } catch (e) {
    throw new KhoError("EINVAL", `cannot read ${file}: ${(e as Error).message}`, file);
  }
}

/** A conditional export target: the first of `import`, `node`, `default` that leads to a path. */
function exportTarget(t: Json | undefined): string | undefined {
  if (typeof t === "string") return t;
  if (t === null || typeof t !== "object" || Array.isArray(t)) return undefined;
  for (const c of ["import", "node", "default"]) {
    const hit = exportTarget(t[c]);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** The file a package folder's `import "<name>"` would load. */
function packageEntry(dir: string): string {
  const pkgFile = join(dir, "package.json");
  if (!existsSync(pkgFile)) return join(dir, "index.js");
  const pkg = readJson(pkgFile);
  if (pkg === null || typeof pkg !== "object" || Array.isArray(pkg))
    throw new KhoError("EINVAL", "package.json is not an object", pkgFile);
  const exp = pkg.exports;
  const dot = exp !== null && typeof exp === "object" && !Array.isArray(exp) && "." in exp ? exp["."] : exp;
  const entry = exportTarget(dot) ?? (typeof pkg.main === "string" ? pkg.main : "index.js");
  return join(dir, entry);
}

/** A package folder found the way node looks for a bare name: node_modules of `from` and every parent. */
function findPackage(name: string, from: string): string | null {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const hit = join(dir, "node_modules", name);
    if (existsSync(join(hit, "package.json"))) return hit;
    if (dirname(dir) === dir) return null;
  }
}

function isPathLike(spec: string): boolean {
  return spec.startsWith(".") || isAbsolute(spec);
}

/** The file to import for `spec`, resolved from `base`. */
export function resolvePluginModule(spec: string, base: string): string {
  if (spec === "") throw new KhoError("EINVAL", "empty plugin module name");
  const asPath = resolve(base, spec);
  if (isPathLike(spec) || existsSync(asPath)) {
    if (!existsSync(asPath)) throw new KhoError("ENOENT", `no plugin module at ${asPath}`, spec);
    return statSync(asPath).isDirectory() ? packageEntry(asPath) : asPath;
  }
  const pkg = findPackage(spec, base);
  if (pkg === null) throw new KhoError("ENOENT", `no package "${spec}" in node_modules above ${base}`, spec);
  return packageEntry(pkg);
}

function isPlugin(x: unknown): x is AnyPlugin {
  if (x === null || typeof x !== "object") return false;
  const p = x as { name?: unknown; subtrees?: unknown };
  return typeof p.name === "string" && p.name !== "" && (p.subtrees === undefined || Array.isArray(p.subtrees));
}

/** The plugins a module exports: `plugins`, else its default export (one plugin or an array). */
export function pluginsOf(mod: Record<string, unknown>, where: string): AnyPlugin[] {
  const raw = "plugins" in mod ? mod.plugins : mod.default;
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  if (list.length === 0)
    throw new KhoError("EINVAL", "exports no plugins (expected `export const plugins = [...]` or a default)", where);
  list.forEach((p, i) => {
    if (!isPlugin(p)) throw new KhoError("EINVAL", `export ${i} is not a plugin (it needs a name)`, where);
  });
  return list as AnyPlugin[];
}

async function importModule(file: string, spec: string): Promise<Record<string, unknown>> {
  if (!existsSync(file)) throw new KhoError("ENOENT", `${file} does not exist (is the package built?)`, spec);
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new KhoError("EINVAL", `cannot load ${file}: ${(e as Error).message}`, spec);
  }
}

async function loadModule(spec: string, base: string): Promise<AnyPlugin[]> {
  const file = resolvePluginModule(spec, base);
  return pluginsOf(await importModule(file, spec), spec);
}

/** The config file to read: `--config`, else the first of CONFIG_FILES in `cwd`, else none. */
function configFile(values: OptionValues, cwd: string): string | null {
  const given = optString(values, "config");
  if (given !== undefined) {
    const file = resolve(cwd, given);
    if (!existsSync(file)) throw new KhoError("ENOENT", `no config file ${file}`, given);
    return file;
  }
  return CONFIG_FILES.map((f) => join(cwd, f)).find((f) => existsSync(f)) ?? null;
}

async function loadConfig(file: string): Promise<AnyPlugin[]> {
  const base = dirname(file);
  const raw = file.endsWith(".json") ? readJson(file) : (await importModule(file, file)).default;
  const entries =
    raw !== null && typeof raw === "object" && !Array.isArray(raw) && "plugins" in raw ? raw.plugins : undefined;
  if (!Array.isArray(entries)) throw new KhoError("EINVAL", `expected { "plugins": [...] }`, file);
  const out: AnyPlugin[] = [];
  for (const [i, e] of (entries as unknown[]).entries()) {
    if (typeof e === "string") out.push(...(await loadModule(e, base)));
    else if (isPlugin(e)) out.push(e);
    else throw new KhoError("EINVAL", `plugins[${i}] is neither a module name nor a plugin`, file);
  }
  return out;
}

/**
 * The plugins a command works with: the built-in ones, then the config
 * file's, then each `--plugin` in order. The same plugin object twice
 * counts once; two different plugins with one name are EEXIST.
 */
export async function loadPlugins(values: OptionValues, cwd = process.cwd()): Promise<AnyPlugin[]> {
  const cfg = configFile(values, cwd);
  const found = [...BUILTIN_PLUGINS, ...(cfg ? await loadConfig(cfg) : [])];
  for (const spec of optList(values, "plugin")) found.push(...(await loadModule(spec, cwd)));
  const byName = new Map<string, AnyPlugin>();
  for (const p of found) {
    const known = byName.get(p.name);
    if (known !== undefined && known !== p)
      throw new KhoError("EEXIST", `two different plugins are named "${p.name}"`, p.name);
    byName.set(p.name, p);
  }
  return [...byName.values()];
}
