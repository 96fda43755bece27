import { z } from "zod";
import { KhoError } from "../errors.js";
import type { KernelSpec } from "../kexec/kernel.js";
import { PAGE_SIZES } from "../mem/geometry.js";
import { parseSize } from "../units.js";
import { type AnyPlugin, INITCALL_LEVELS, type SubtreeVersion } from "./plugin.js";

/**
 * Which ABI version a kernel writes for a subtree node and which it accepts.
 * The kernel's own rule, the default, is: write the plugin's first declared
 * version, accept only that one.
 */
export interface VersionPin {
  readonly write?: string;
  readonly accept?: readonly string[];
}

export interface KernelComposition extends KernelSpec {
  /** Must match the machine the kernel boots on. */
  readonly pageSize?: number | string;
  readonly plugins: readonly AnyPlugin[];
  /** Per KHO node name. */
  readonly versions?: Readonly<Record<string, VersionPin>>;
}

/** How one subtree node is handled by a composed kernel. */
export interface NodePlan {
  readonly plugin: AnyPlugin;
  readonly writer: SubtreeVersion;
  readonly accept: readonly SubtreeVersion[];
}

/** A validated kernel: its boot spec, plugins in dependency order, subtree plans. */
export interface ComposedKernel {
  readonly spec: KernelSpec;
  readonly pageSize: number | null;
  /** Dependency order, core plugins first: setup, early, restore, prepare and finish run in it. */
  readonly plugins: readonly AnyPlugin[];
  /** The plugins that are not core, in the order their `init` runs after kho_init: by initcall level, then as above. */
  readonly initOrder: readonly AnyPlugin[];
  /** Every plugin each plugin depends on, directly or not. */
  readonly dependencies: ReadonlyMap<string, ReadonlySet<string>>;
  readonly nodes: ReadonlyMap<string, NodePlan>;
}

const pluginShape = z.looseObject({
  name: z.string().regex(/^[A-Za-z0-9_-]+$/, "a plugin name is letters, digits, _ and - (actions are <plugin>.<name>)"),
  dependsOn: z.array(z.string().min(1)).optional(),
  core: z.boolean().optional(),
  initcall: z.enum(["fs", "rootfs", "device", "late"]).optional(),
  // Any zod schema, whichever copy of zod the plugin was built with: duck-typed, not instanceof.
  actions: z
    .record(
      z.string().regex(/^[A-Za-z0-9_-]+$/, "an action name is letters, digits, _ and -"),
      z.looseObject({
        args: z.custom(
          (a) => typeof (a as { safeParse?: unknown })?.safeParse === "function",
          "args is not a zod schema",
        ),
      }),
    )
    .optional(),
  subtrees: z
    .array(z.looseObject({ abi: z.looseObject({ name: z.string().min(1), compatible: z.array(z.string()) }) }))
    .optional(),
});

const compositionShape = z.looseObject({
  release: z.string().min(1, "release must not be empty").max(64, "release is longer than __NEW_UTS_LEN (64)"),
  cmdline: z.string().optional(),
  arch: z.enum(["x86", "arm64"]).optional(),
  debug: z.boolean().optional(),
  legacyRadixDepth: z.boolean().optional(),
  imageSize: z.union([z.number().int().positive(), z.string()]).optional(),
  pageSize: z.union([z.number(), z.string()]).optional(),
  plugins: z.array(pluginShape),
  versions: z
    .record(z.string(), z.looseObject({ write: z.string().optional(), accept: z.array(z.string()).optional() }))
    .optional(),
});

function fail(message: string, where?: string): never {
  throw new KhoError("EINVAL", message, where);
}

/** Every zod issue of a failed parse, located: `path: message; path: message`. */
export function formatIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`).join("; ");
}

/**
 * Plugins in dependency order (stable: declaration order among equals, core
 * plugins first); names the culprits of a cycle.
 */
function orderPlugins(plugins: readonly AnyPlugin[]): AnyPlugin[] {
  const byName = new Map<string, AnyPlugin>();
  for (const p of plugins) {
    if (byName.has(p.name)) fail(`plugin "${p.name}" is listed twice`);
    byName.set(p.name, p);
  }
  for (const p of plugins)
    for (const d of p.dependsOn ?? [])
      if (!byName.has(d)) fail(`plugin "${p.name}" depends on "${d}", which is not in this kernel`, p.name);
  const out: AnyPlugin[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (p: AnyPlugin, path: string[]): void => {
    const s = state.get(p.name);
    if (s === "done") return;
    if (s === "visiting") {
      const cycle = [...path.slice(path.indexOf(p.name)), p.name];
      fail(`plugin dependency cycle: ${cycle.join(" -> ")}`, p.name);
    }
    state.set(p.name, "visiting");
    for (const d of p.dependsOn ?? []) visit(byName.get(d)!, [...path, p.name]);
    state.set(p.name, "done");
    out.push(p);
  };
  for (const p of plugins) if (p.core) visit(p, []);
  for (const p of plugins) visit(p, []);
  return out;
}

/** Transitive dependencies; `plugins` is in dependency order, so each plugin's are known before it. */
function dependencies(plugins: readonly AnyPlugin[]): Map<string, Set<string>> {
  const all = new Map<string, Set<string>>();
  for (const p of plugins) all.set(p.name, new Set((p.dependsOn ?? []).flatMap((d) => [d, ...all.get(d)!])));
  return all;
}

/** A single-valued service has one provider per kernel: a second one names both. */
function checkProviders(plugins: readonly AnyPlugin[]): void {
  const by = new Map<symbol, AnyPlugin>();
  for (const p of plugins)
    for (const token of p.provides ?? []) {
      const had = by.get(token.key);
      if (had && had !== p)
        fail(`plugins "${had.name}" and "${p.name}" both provide service "${token.description}"`, token.description);
      by.set(token.key, p);
    }
}

const levelOf = (p: AnyPlugin): number => INITCALL_LEVELS.indexOf(p.initcall ?? "late");

/**
 * Plugins that are not core, by the initcall level of their `init`, stable
 * in dependency order. A plugin whose init level comes before one of its
 * dependencies' would run first: refused, naming both.
 */
function initOrder(plugins: readonly AnyPlugin[]): AnyPlugin[] {
  const byName = new Map(plugins.map((p) => [p.name, p]));
  for (const p of plugins)
    for (const d of p.dependsOn ?? []) {
      const dep = byName.get(d)!;
      if (!p.core && !dep.core && levelOf(p) < levelOf(dep))
        fail(
          `plugin "${p.name}" (init at ${p.initcall ?? "late"}_initcall) depends on "${d}", ` +
            `whose init runs later (${dep.initcall ?? "late"}_initcall)`,
          p.name,
        );
    }
  return plugins.filter((p) => !p.core).sort((a, b) => levelOf(a) - levelOf(b));
}

function planNodes(plugins: readonly AnyPlugin[], pins: Readonly<Record<string, VersionPin>>): Map<string, NodePlan> {
  const versions = new Map<string, { plugin: AnyPlugin; list: SubtreeVersion[] }>();
  for (const p of plugins) {
    for (const v of p.subtrees ?? []) {
      const node = v.abi.name;
      if (v.abi.compatible.length === 0)
        fail(`plugin "${p.name}": subtree schema "${node}" (${v.abi.version}) has no compatible string`, p.name);
      const have = versions.get(node);
      if (have && have.plugin !== p)
        fail(`plugins "${have.plugin.name}" and "${p.name}" both claim subtree "${node}"`, node);
      if (have) have.list.push(v);
      else versions.set(node, { plugin: p, list: [v] });
    }
  }
  const plans = new Map<string, NodePlan>();
  for (const [node, { plugin, list }] of versions) {
    const pin = pins[node] ?? {};
    const find = (compat: string): SubtreeVersion =>
      list.find((v) => v.abi.compatible.includes(compat)) ??
      fail(
        `subtree "${node}": plugin "${plugin.name}" implements no version "${compat}" ` +
          `(it has ${list.map((v) => v.abi.compatible[0]).join(", ")})`,
        node,
      );
    const writer = pin.write === undefined ? list[0]! : find(pin.write);
    const accept = pin.accept === undefined ? [writer] : pin.accept.map(find);
    plans.set(node, { plugin, writer, accept });
  }
  for (const node of Object.keys(pins))
    if (!plans.has(node)) fail(`version pin for subtree "${node}", which no plugin provides`, node);
  return plans;
}

/**
 * Validates a kernel composition: the spec's shape (zod), plugin names and
 * dependencies (missing, cycles), subtree ownership (one plugin per node
 * name), compatible strings and version pins. Every error names the
 * culprits.
 */
export function composeKernel(input: KernelComposition): ComposedKernel {
  const parsed = compositionShape.safeParse(input);
  if (!parsed.success) fail(`kernel composition: ${formatIssues(parsed.error.issues)}`, input.release);
  const pageSize = input.pageSize === undefined ? null : parseSize(input.pageSize, "pageSize");
  if (pageSize !== null && !(PAGE_SIZES as readonly number[]).includes(pageSize))
    fail(`page size ${pageSize} is not 4KiB, 16KiB or 64KiB`, input.release);
  const plugins = orderPlugins(input.plugins);
  checkProviders(plugins);
  const nodes = planNodes(plugins, input.versions ?? {});
  const { plugins: _p, versions: _v, pageSize: _s, ...spec } = input;
  return { spec, pageSize, plugins, initOrder: initOrder(plugins), dependencies: dependencies(plugins), nodes };
}
