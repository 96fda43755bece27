import "reflect-metadata";
import { type DependencyContainer, inject, injectable } from "tsyringe";
import { KhoError } from "../errors.js";
import type { Kernel } from "../kexec/kernel.js";
import type { KhoIn } from "../kho/in.js";
import type { KhoOut } from "../kho/out.js";
import type { ScopedLog } from "../log.js";
import type { PageAllocator } from "../mem/alloc.js";
import type { PhysMem } from "../mem/phys.js";
import type { ComposedKernel } from "./compose.js";
import type { AnyPlugin, KernelInfo, SubtreeVersion } from "./plugin.js";
import type { RegistryToken, ServiceToken } from "./services.js";

/** Container keys of what every kernel scope holds. */
export const TOKENS = {
  kernel: Symbol.for("khosim.Kernel"),
  composed: Symbol.for("khosim.ComposedKernel"),
  container: Symbol.for("khosim.Container"),
} as const;

/** What a plugin may know of a kernel: what `state()` and `ctx.kernel` give. */
export function kernelInfo(k: Kernel): KernelInfo {
  return {
    release: k.release,
    generation: k.generation,
    pageSize: k.mem.pageSize,
    cmdline: k.cmdline.text,
    bootKind: k.bootKind,
  };
}

/**
 * The services of one booted kernel, built by its own child container so
 * plugins of that kernel share them and nothing leaks to the next kernel.
 */
@injectable()
export class KernelScope {
  /** Bytes plugins reported as checked after a handover. */
  verifiedBytes = 0;
  /** Plugins whose setup, early or init failed: their later hooks in this kernel are skipped. */
  readonly disabled = new Set<string>();
  /** Which plugin provided each single-valued service, to name both when a second one tries. */
  readonly providers = new Map<symbol, string>();

  constructor(
    @inject(TOKENS.kernel) readonly kernel: Kernel,
    @inject(TOKENS.composed) readonly composed: ComposedKernel,
    @inject(TOKENS.container) readonly container: DependencyContainer,
  ) {}
}

/**
 * What a plugin's hooks receive: the kernel's services, the plugin's own
 * per-kernel state, its log, and the service registry shared with other
 * plugins of the same kernel.
 */
export class PluginContext<S = unknown> {
  readonly log: ScopedLog;

  constructor(
    private readonly scope: KernelScope,
    readonly plugin: AnyPlugin,
    readonly state: S,
  ) {
    this.log = scope.kernel.log.scoped(plugin.logPrefix ?? `${plugin.name}: `);
  }

  get kernel(): KernelInfo {
    return kernelInfo(this.scope.kernel);
  }

  get mem(): PhysMem {
    return this.scope.kernel.mem;
  }

  get alloc(): PageAllocator {
    return this.scope.kernel.alloc;
  }

  /**
   * kho_is_enabled(): `kho=on` and scratch reserved (cold boot) or
   * inherited (KHO boot), until kho_init fails. Before kho_init it says
   * whether KHO will come up; from `init` on, whether `ctx.kho` works.
   */
  get khoEnabled(): boolean {
    return this.scope.kernel.khoEnabled;
  }

  /**
   * The outgoing KHO. It exists from kho_init on (the `init` hook and
   * later); before that, or when KHO is off, using it is an error, as
   * kho_add_subtree() before kho_init() is a NULL dereference in the kernel.
   */
  get kho(): KhoOut {
    const k = this.scope.kernel;
    if (k.out) return k.out;
    if (!k.khoEnabled) throw new KhoError("EOPNOTSUPP", "KHO is disabled in this kernel", this.plugin.name);
    throw new KhoError(
      "EINVAL",
      "outgoing KHO is not initialised yet: kho_init sets it up; plugins' init hooks run after it",
      this.plugin.name,
    );
  }

  /** The incoming KHO, or null when this kernel was not booted by a KHO kexec. */
  get khoIn(): KhoIn | null {
    const i = this.scope.kernel.in;
    return i?.active ? i : null;
  }

  /** The version this kernel writes for one of this plugin's subtree nodes. */
  writer(node: string): SubtreeVersion {
    const plan = this.scope.composed.nodes.get(node);
    if (!plan || plan.plugin !== this.plugin)
      throw new KhoError("ENOENT", `plugin "${this.plugin.name}" declares no subtree "${node}"`, node);
    return plan.writer;
  }

  /**
   * Provides a single-valued service in this kernel. The plugin declares
   * the token in `provides` (so composition can refuse two providers);
   * providing it twice is EEXIST naming both plugins.
   */
  provide<T>(token: ServiceToken<T>, value: T): void {
    if (!(this.plugin.provides ?? []).includes(token))
      throw new KhoError(
        "EINVAL",
        `plugin "${this.plugin.name}" provides service "${token.description}" without declaring it in provides`,
        this.plugin.name,
      );
    const had = this.scope.providers.get(token.key);
    if (had !== undefined)
      throw new KhoError(
        "EEXIST",
        `service "${token.description}" is provided by plugins "${had}" and "${this.plugin.name}"`,
        this.plugin.name,
      );
    this.scope.providers.set(token.key, this.plugin.name);
    this.scope.container.register(token.key, { useValue: value });
  }

  /**
   * A service of this kernel, provided by this plugin or one it depends on
   * (so its provider's setup has run first): ENOENT when no plugin provides
   * it, EINVAL naming both plugins when the provider is not a dependency.
   */
  service<T>(token: ServiceToken<T>): T {
    const provider = this.scope.providers.get(token.key);
    if (provider === undefined)
      throw new KhoError("ENOENT", `service "${token.description}" is not provided in this kernel`, this.plugin.name);
    const mine = this.plugin.name;
    if (provider !== mine && !this.scope.composed.dependencies.get(mine)?.has(provider))
      throw new KhoError(
        "EINVAL",
        `plugin "${mine}" resolves service "${token.description}" of "${provider}", which it does not depend on`,
        mine,
      );
    return this.scope.container.resolve<T>(token.key);
  }

  /** Adds a value to a registry of this kernel (a multi-registration: any number of plugins may). */
  register<T>(registry: RegistryToken<T>, value: T): void {
    this.scope.container.register(registry.key, { useValue: value });
  }

  /** Every value registered so far, in registration order (dependency order of the plugins). */
  resolveAll<T>(registry: RegistryToken<T>): T[] {
    if (!this.scope.container.isRegistered(registry.key, true)) return [];
    return this.scope.container.resolveAll<T>(registry.key);
  }

  /** Reports bytes of handed-over data this plugin checked. */
  verified(bytes: number): void {
    this.scope.verifiedBytes += bytes;
  }

  /** panic() in this kernel. */
  panic(reason: string): never {
    return this.scope.kernel.panic(reason);
  }
}
