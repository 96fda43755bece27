import type { AbiSchema } from "../abi/schema.js";
import type { KhoIn } from "../kho/in.js";
import type { PluginContext } from "./context.js";

/**
 * One ABI version of a subtree a plugin writes or reads. `abi.name` is the
 * KHO node name, `abi.compatible[0]` the compatible string of this version.
 * `identify` tells which compatible an incoming blob carries (null when the
 * blob is too broken to say); FDT subtrees default to their root
 * `compatible` property. The host asks every accepted version in turn, so
 * versions may identify blobs differently.
 */
export interface SubtreeVersion {
  readonly abi: AbiSchema;
  readonly identify?: (blob: Uint8Array) => string | null;
}

/** An incoming subtree handed to a plugin's `restore` hook. */
export interface IncomingSubtree {
  /** KHO node name. */
  readonly name: string;
  readonly phys: number;
  readonly size: number;
  /** What the blob says it is. */
  readonly compatible: string;
  /** The version of this plugin that accepted it. */
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
 * A plugin: a plain object with named lifecycle hooks, ordered by its
 * declared dependencies. `state` makes the per-kernel state every hook sees
 * as `ctx.state` (a plugin definition is shared by every kernel that uses
 * it). `setup` runs first in every kernel and may `provide` services other
 * plugins resolve.
 *
 * Outgoing: `init` inside kho_init (cold and KHO boots), `prepare` before a
 * kexec (throw to abort it), `abort` when a later plugin's prepare failed.
 * Incoming: `early` while only scratch may be allocated, `restore` once per
 * accepted incoming subtree, `refused` for a subtree of this plugin's node
 * whose version is not accepted (the default has it reported and nothing
 * else; a plugin reproduces its kernel's reaction there, e.g. a panic),
 * `finish` once the kernel is up.
 */
export interface KhoPlugin<S = unknown> {
  readonly name: string;
  readonly dependsOn?: readonly string[];
  readonly subtrees?: readonly SubtreeVersion[];
  /**
   * Part of KHO itself (kexec-metadata runs inside kho_init): ordered before
   * every other plugin, so its subtree is always the first one added.
   */
  readonly core?: boolean;
  /** The pr_fmt of the kernel code the plugin stands for ("KHO: ", "luo: "); default "<name>: ". */
  readonly logPrefix?: string;
  state?(): S;
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

/** Type helper: checks the shape and infers the state type for the hooks. */
export function definePlugin<S = undefined>(plugin: KhoPlugin<S>): KhoPlugin<S> {
  return plugin;
}

/** Any plugin, whatever its state type (hooks are only ever called with their own). */
export type AnyPlugin = KhoPlugin<unknown>;
