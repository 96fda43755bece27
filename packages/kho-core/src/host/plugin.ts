import type { z } from "zod";
import type { JsonValue } from "../abi/field.js";
import type { AbiSchema } from "../abi/schema.js";
import type { KhoIn } from "../kho/in.js";
import type { PluginContext } from "./context.js";
import type { ServiceToken } from "./services.js";

/**
 * The plugin contract: what a plugin declares and what its hooks receive.
 * Services and registries (tsyringe tokens) are in `services.ts`, the
 * context hooks get in `context.ts`, `defineSubtree` in `subtree.ts`.
 */

/** What inspection (debugfs decoding, `kho inspect`) shows of one blob. */
export interface SubtreeDescription {
  /** The decoded fields as JSON; null when the blob could not be decoded. */
  readonly fields: JsonValue;
  /** What a kernel reading this version would reject or warn about. */
  readonly problems?: readonly string[];
  /** Things the blob points at that only the memory pages could show (a debugfs copy has none). */
  readonly unavailable?: readonly string[];
}

/**
 * One ABI version of a subtree a plugin writes or reads. `abi.name` is the
 * KHO node name, `abi.compatible[0]` the compatible string of this version.
 * Made with `defineSubtree`, which derives `decode`, `encode` and
 * `describe` from the struct or FDT layout where there is one.
 *
 * - `identify` tells which compatible an incoming blob carries (null when
 *   the blob is too broken to say). The host and the decoders ask every
 *   version they know in turn, so versions may identify blobs differently.
 * - `decode` turns the bytes into a typed value and throws a `KhoError`
 *   when they are not a valid blob of this version; `encode` is its inverse.
 * - `describe` is what inspection shows; it never throws for bad bytes,
 *   it lists problems instead.
 */
export interface SubtreeVersion<T = unknown> {
  readonly abi: AbiSchema;
  identify(blob: Uint8Array): string | null;
  decode(blob: Uint8Array): T;
  encode(value: T): Uint8Array;
  describe(blob: Uint8Array): SubtreeDescription;
}

/** What a plugin may know about the kernel it runs in; `state()` gets it too. */
export interface KernelInfo {
  readonly release: string;
  /** 1 for the first kernel booted on the machine, +1 per boot or kexec. */
  readonly generation: number;
  readonly pageSize: number;
  readonly cmdline: string;
  /** `kho`: booted by a KHO kexec whose handover was accepted (kho_populate); else `cold`. */
  readonly bootKind: "cold" | "kho";
}

/** An incoming subtree handed to a plugin's `restore` hook. */
export interface IncomingSubtree {
  /** KHO node name. */
  readonly name: string;
  readonly phys: number;
  readonly size: number;
  /** What the blob says it is. */
  readonly compatible: string;
  /** The version of this plugin that accepted it: `version.decode` reads the blob. */
  readonly version: SubtreeVersion;
  /** The incoming KHO the subtree came from (restore, restorePages, restoreFree...). */
  readonly khoIn: KhoIn;
}

/** An incoming subtree no accepted version matched. */
export interface RefusedSubtree {
  readonly name: string;
  readonly phys: number;
  readonly size: number;
  /** What the blob says it is; null when it could not be identified. */
  readonly compatible: string | null;
  /** The compatible strings this kernel accepts for the node. */
  readonly accepted: readonly string[];
}

/**
 * Initcall levels, in the order the kernel runs them. kho_init is an
 * fs_initcall; a plugin's `init` runs at its own level, after kho_init has
 * finished (at `fs`, as a later entry of the same level), so only `fs`
 * and later are valid for it.
 */
export const INITCALL_LEVELS = [
  "early",
  "core",
  "postcore",
  "arch",
  "subsys",
  "fs",
  "rootfs",
  "device",
  "late",
] as const;
export type InitcallLevel = (typeof INITCALL_LEVELS)[number];
/** The levels a plugin's `init` may declare. */
export type PluginInitcall = Extract<InitcallLevel, "fs" | "rootfs" | "device" | "late">;

/** Every hook a plugin may have. */
export type HookName = "setup" | "early" | "restore" | "refused" | "init" | "prepare" | "abort" | "finish";

/**
 * What a hook's failure means:
 * - `contain`: reported (`hookFailures` and an anomaly), the kernel and the
 *   other plugins go on (a failed restore loses that subtree);
 * - `abort-kexec`: the kexec does not happen, prepared plugins get `abort`;
 * - `fail-kho-init`: kho_init fails, KHO is off in this kernel;
 * - `panic`: the kernel panics: what `ctx.panic` means from any hook (no
 *   hook's plain failure does: a plugin's error return is not a crash).
 */
export type FailurePolicy = "contain" | "abort-kexec" | "fail-kho-init" | "panic";

/** What a thrown error (not a panic) in a hook may mean. */
export type ErrorPolicy = Exclude<FailurePolicy, "panic">;

export interface HookPolicy {
  /** When the hook runs, in kernel terms. */
  readonly when: string;
  readonly failure: ErrorPolicy;
  /** A contained failure leaves the plugin half set up: its later hooks in this kernel are skipped. */
  readonly stopsPlugin?: boolean;
  /** For a `core` plugin (part of kho_init itself), when it differs. */
  readonly coreFailure?: ErrorPolicy;
}

/** The one table the runner consults when a hook throws; the docs list it too. */
export const HOOK_POLICY: Readonly<Record<HookName, HookPolicy>> = {
  setup: {
    when: "the kernel's scope is created, before early boot: provide services, register handlers",
    failure: "contain",
    stopsPlugin: true,
  },
  early: { when: "early boot, memblock only (scratch only on a KHO boot)", failure: "contain", stopsPlugin: true },
  restore: {
    when: "early_initcall for plugins, inside kho_init (fs_initcall) for core plugins; per accepted subtree",
    failure: "contain",
  },
  refused: { when: "as restore, per subtree of the plugin's node whose version is not accepted", failure: "contain" },
  init: {
    when: "the plugin's initcall level after kho_init; core plugins inside kho_init",
    failure: "contain",
    stopsPlugin: true,
    coreFailure: "fail-kho-init",
  },
  prepare: { when: "before a kexec, in dependency order", failure: "abort-kexec" },
  abort: { when: "a later prepare failed: undo this plugin's prepare, newest first", failure: "contain" },
  finish: {
    when: "the workload is done with the handover (host.finish(), or first thing in kexec)",
    failure: "contain",
  },
};

/**
 * Build options a scenario may give a plugin per kernel
 * (`kernels.A.options.luo: { strict: true }`): checked against `schema`,
 * then `configure` returns the plugin as built with them, same name.
 */
export interface PluginOptions {
  readonly schema: z.ZodType;
  configure(options: unknown): AnyPlugin;
}

/** The argument schemas of a plugin's actions, by action name. */
export type ActionArgs = Readonly<Record<string, z.ZodType>>;

/**
 * A named workload step a scenario may run as `{ action: "<plugin>.<name>", args }`.
 * `args` is validated against the schema before `run` is called.
 */
export interface PluginAction<S, A extends z.ZodType> {
  readonly summary?: string;
  readonly args: A;
  run(ctx: PluginContext<S>, args: z.output<A>): void;
}

/**
 * A typed action maker for a plugin's state: `const action = actionFor<MyState>()`,
 * then `action({ args, run(ctx, args) })` infers the argument type from `args`.
 */
export function actionFor<S>(): <A extends z.ZodType>(a: PluginAction<S, A>) => PluginAction<S, A> {
  return (a) => a;
}

/**
 * A plugin: a plain object with named lifecycle hooks, ordered by its
 * declared dependencies. `state` makes the per-kernel state every hook sees
 * as `ctx.state` (a plugin definition is shared by every kernel that uses
 * it). `setup` runs first in every kernel and may `provide` the services it
 * declares in `provides` and `register` into registries of its
 * dependencies. See HOOK_POLICY for when each hook runs and what its
 * failure means.
 */
export interface KhoPlugin<S = unknown, A extends ActionArgs = ActionArgs> {
  readonly name: string;
  readonly dependsOn?: readonly string[];
  readonly subtrees?: readonly SubtreeVersion[];
  /**
   * Layouts the plugin hands over that are not KHO subtrees of their own:
   * data its subtrees point at, such as a LUO file handler's serialized
   * state (`memfd-v2`). `kho abi` lists and documents them with the rest.
   */
  readonly abis?: readonly AbiSchema[];
  /**
   * Part of KHO itself (kexec-metadata runs inside kho_init): ordered before
   * every other plugin, so its subtree is always the first one added; its
   * `restore` and `init` run inside kho_init, and not at all when KHO is off.
   */
  readonly core?: boolean;
  /** The level of the plugin's own `init` (default `late`); ignored for core plugins. */
  readonly initcall?: PluginInitcall;
  /** The pr_fmt of the kernel code the plugin stands for ("KHO: ", "luo: "); default "<name>: ". */
  readonly logPrefix?: string;
  /** Single-valued services this plugin provides; two plugins of one kernel providing one is a composition error. */
  readonly provides?: readonly ServiceToken<unknown>[];
  readonly actions?: { readonly [K in keyof A]: PluginAction<S, A[K]> };
  /** Options a scenario may build the plugin with, per kernel. */
  readonly options?: PluginOptions;
  state?(kernel: KernelInfo): S;
  setup?(ctx: PluginContext<S>): void;
  readonly outgoing?: OutgoingHooks<S>;
  readonly incoming?: IncomingHooks<S>;
}

// Hooks are methods, not function-typed properties, so a plugin with a
// specific state type is still a KhoPlugin<unknown> for the host.
export interface OutgoingHooks<S> {
  init?(ctx: PluginContext<S>): void;
  prepare?(ctx: PluginContext<S>): void;
  abort?(ctx: PluginContext<S>): void;
}

export interface IncomingHooks<S> {
  early?(ctx: PluginContext<S>): void;
  restore?(ctx: PluginContext<S>, subtree: IncomingSubtree): void;
  refused?(ctx: PluginContext<S>, subtree: RefusedSubtree): void;
  finish?(ctx: PluginContext<S>): void;
}

/**
 * Type helper: checks the shape and infers the state type (from `state`)
 * and the action argument types (from each action's `args`) for the hooks.
 */
export function definePlugin<S = undefined, A extends ActionArgs = ActionArgs>(
  plugin: KhoPlugin<S, A>,
): KhoPlugin<S, A> {
  return plugin;
}

/** Any plugin, whatever its state type (hooks are only ever called with their own). */
export type AnyPlugin = KhoPlugin<unknown>;
