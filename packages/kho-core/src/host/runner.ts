import "reflect-metadata";
import { createHash } from "node:crypto";
import { container, type DependencyContainer } from "tsyringe";
import { isKhoError, KernelPanic, KhoError } from "../errors.js";
import { getName, subnodes } from "../fdt/ro.js";
import type { BootHooks, Kernel } from "../kexec/kernel.js";
import { Machine } from "../kexec/machine.js";
import type { Ref } from "../kho/in.js";
import { hex } from "../units.js";
import type { ComposedKernel } from "./compose.js";
import { KernelScope, kernelInfo, PluginContext, TOKENS } from "./context.js";
import type { AnyPlugin, KhoPlugin, SubtreeVersion } from "./plugin.js";
import { type Anomaly, logLines, type TransitionReport } from "./report.js";

/** The bytes identify() sees of an incoming blob: enough for any header, bounded against hostile sizes. */
const IDENTIFY_MAX = 64 << 10;

/** Preserved pages that held data at the handover, and their digests. */
interface Snapshot {
  readonly digests: Map<number, string>;
  readonly blocks: number;
  readonly pages: number;
  readonly byOrder: Record<string, number>;
  readonly byOwner: Record<string, number>;
}

/**
 * Runs kernels composed of plugins on one machine, through live updates.
 * Each booted kernel gets a child container (its scope: the kernel, its
 * composition, the services plugins provide) and one context per plugin;
 * hooks run in dependency order, an exception in one plugin is contained
 * and reported, a panic stops the kernel. Every transition yields a report.
 */
export class LiveUpdateHost {
  readonly reports: TransitionReport[] = [];
  private readonly root: DependencyContainer = container.createChildContainer();
  private scope: KernelScope | null = null;
  private composed: ComposedKernel | null = null;
  private readonly contexts = new Map<string, PluginContext>();
  private anomalies: Anomaly[] = [];
  private subtrees: TransitionReport["subtrees"] = { restored: [], refused: [], orphaned: [], lost: [] };
  private failed = new Set<string>();
  private finished = true;
  private verifiedBytes = 0;
  private mismatches = 0;

  constructor(readonly machine: Machine = new Machine()) {}

  get kernel(): Kernel {
    const k = this.machine.kernel;
    if (!k) throw new KhoError("ENOENT", "no kernel has been booted");
    return k;
  }

  /** The context of a plugin in the running kernel: workload steps call plugin APIs through it. */
  context<S>(plugin: KhoPlugin<S>): PluginContext<S> {
    const ctx = this.contexts.get(plugin.name);
    if (!ctx || ctx.plugin !== plugin)
      throw new KhoError("ENOENT", `plugin "${plugin.name}" is not part of the running kernel`);
    return ctx as PluginContext<S>;
  }

  private checkPageSize(k: ComposedKernel): void {
    if (k.pageSize !== null && k.pageSize !== this.machine.mem.pageSize)
      throw new KhoError(
        "EINVAL",
        `kernel ${k.spec.release} is built for ${k.pageSize}-byte pages, the machine has ${this.machine.mem.pageSize}`,
        k.spec.release,
      );
  }

  /** Cold boot of a composed kernel. */
  boot(k: ComposedKernel): TransitionReport {
    this.checkPageSize(k);
    this.reset();
    let panic: string | undefined;
    try {
      this.machine.boot(k.spec, this.hooks(k));
    } catch (e) {
      if (!(e instanceof KernelPanic)) throw e;
      panic = e.reason;
    }
    return this.record({ kind: "cold-boot", from: null, snapshot: null, panic });
  }

  /**
   * Runs `incoming.finish` of every plugin of the running kernel, once: the
   * workload is done with what was handed over. kexec does it first if the
   * scenario did not.
   */
  finish(): void {
    if (this.finished || this.kernel.state !== "running") return;
    this.finished = true;
    this.each("finish", (p, ctx) => p.incoming?.finish?.(ctx));
  }

  /**
   * Live update to `next`: `prepare` in dependency order; the first failure
   * aborts (every plugin already prepared gets `abort`, newest first) and
   * the machine stays on the old kernel. Otherwise the machine kexecs and
   * the next kernel runs its hooks.
   */
  kexec(next: ComposedKernel): TransitionReport {
    this.checkPageSize(next);
    const old = this.kernel;
    if (old.state !== "running")
      throw new KhoError("EINVAL", `kernel ${old.release} is ${old.state}: no kexec possible`, old.release);
    const from = { release: old.release, generation: old.generation };
    this.reset();
    this.finish();
    const prepared: AnyPlugin[] = [];
    const abort = (plugin: string, e: unknown): TransitionReport => {
      for (const q of prepared.reverse()) this.call(q, "abort", (ctx) => q.outgoing!.abort?.(ctx), true);
      return this.record({ kind: "kexec", from, snapshot: null, aborted: { plugin, reason: errorMessage(e) } });
    };
    for (const p of this.composed?.plugins ?? []) {
      if (!p.outgoing?.prepare) continue;
      try {
        this.call(p, "prepare", (ctx) => p.outgoing!.prepare!(ctx));
        prepared.push(p);
      } catch (e) {
        // The running kernel itself panicked while preparing: no abort, no kexec.
        if (e instanceof KernelPanic) return this.record({ kind: "kexec", from, snapshot: null, panic: e.reason });
        return abort(p.name, e);
      }
    }
    const snapshot = this.snapshot(old);
    let panic: string | undefined;
    try {
      this.machine.kexec(next.spec, this.hooks(next, snapshot));
    } catch (e) {
      // The loader failed before the jump (no room for the image in scratch): as a failed prepare.
      if (this.machine.kernel === old && isKhoError(e) && !(e instanceof KernelPanic)) return abort("kexec", e);
      if (!(e instanceof KernelPanic)) throw e;
      panic = e.reason;
    }
    return this.record({ kind: "kexec", from, snapshot, panic });
  }

  private reset(): void {
    this.anomalies = [];
    this.subtrees = { restored: [], refused: [], orphaned: [], lost: [] };
    this.failed = new Set();
  }

  private hooks(k: ComposedKernel, snapshot: Snapshot | null = null): BootHooks {
    return {
      early: (kernel) => {
        this.enter(kernel, k);
        this.each("setup", (p, ctx) => p.setup?.(ctx));
        this.each("early", (p, ctx) => p.incoming?.early?.(ctx));
      },
      restore: (kernel) => {
        if (snapshot) this.verify(snapshot);
        if (kernel.in?.active) this.routeSubtrees(kernel);
      },
      khoInit: () => {
        // A core plugin is kho_init itself: its failure fails kho_init and turns KHO off.
        for (const p of k.plugins.filter((x) => x.core)) {
          try {
            this.call(p, "init", (ctx) => p.outgoing?.init?.(ctx));
          } catch (e) {
            if (e instanceof KernelPanic) throw e;
            this.hookFailed(p, "init", e);
            throw isKhoError(e) ? e : new KhoError("EINVAL", `${p.name} init: ${errorMessage(e)}`, p.name);
          }
        }
        this.each("init", (p, ctx) => (p.core ? undefined : p.outgoing?.init?.(ctx)));
      },
    };
  }

  /** A new kernel scope: child container, composition, one context per plugin. */
  private enter(kernel: Kernel, k: ComposedKernel): void {
    const child = this.root.createChildContainer();
    child.register(TOKENS.kernel, { useValue: kernel });
    child.register(TOKENS.composed, { useValue: k });
    child.register(TOKENS.container, { useValue: child });
    this.scope = child.resolve(KernelScope);
    this.composed = k;
    this.finished = false;
    this.contexts.clear();
    for (const p of k.plugins)
      this.contexts.set(p.name, new PluginContext(this.scope, p, p.state?.(kernelInfo(kernel))));
  }

  private each(phase: string, fn: (p: AnyPlugin, ctx: PluginContext) => void): void {
    for (const p of this.composed?.plugins ?? [])
      if (!this.failed.has(p.name)) this.call(p, phase, (ctx) => fn(p, ctx), true);
  }

  /**
   * Runs one hook of one plugin. Memory accesses and preservations are
   * attributed to it. With `contain`, an exception marks the plugin's state
   * lost and the kernel goes on; a panic always propagates.
   */
  private call(p: AnyPlugin, phase: string, fn: (ctx: PluginContext) => void, contain = false): void {
    const ctx = this.contexts.get(p.name);
    if (!ctx) return;
    const kernel = this.kernel;
    const prevActor = kernel.mem.actor;
    kernel.mem.actor = `${p.name} (${phase})`;
    if (kernel.out) kernel.out.actor = p.name;
    try {
      fn(ctx);
    } catch (e) {
      if (e instanceof KernelPanic || !contain) throw e;
      this.hookFailed(p, phase, e);
    } finally {
      kernel.mem.actor = prevActor;
      if (kernel.out) kernel.out.actor = "kernel";
    }
  }

  /** Records a touch of unowned memory as a poison anomaly; false when `e` is something else. */
  private notePoison(p: AnyPlugin, e: unknown): boolean {
    if (!isKhoError(e, "EHWPOISON")) return false;
    this.anomalies.push({
      kind: "poison",
      message: `use of unpreserved memory: ${e.message}`,
      plugin: p.name,
      address: e.where,
    });
    return true;
  }

  private hookFailed(p: AnyPlugin, phase: string, e: unknown): void {
    const message = errorMessage(e);
    this.failed.add(p.name);
    if (!this.notePoison(p, e))
      this.anomalies.push({ kind: "hook-error", message: `${p.name} ${phase}: ${message}`, plugin: p.name });
    this.subtrees.lost.push({ name: `(${p.name} state)`, plugin: p.name, reason: `${phase} failed: ${message}` });
  }

  /**
   * Every child of the incoming root FDT goes to the plugin owning its node
   * name, if its compatible is accepted; otherwise it is refused (with both
   * strings), orphaned (no plugin) or lost (unreadable), and reported.
   */
  private routeSubtrees(kernel: Kernel): void {
    const kin = kernel.in!;
    const fdt = kin.fdt;
    const names: string[] = [];
    for (const node of subnodes(fdt, 0)) names.push(getName(fdt, node));
    const plans = this.composed!.nodes;
    for (const name of names.filter((n) => !plans.has(n))) {
      const phys: Ref<number> = {};
      const size: Ref<number> = {};
      kin.retrieveSubtree(name, phys, size);
      this.subtrees.orphaned.push({
        name,
        phys: phys.value === undefined ? undefined : hex(phys.value),
        size: size.value,
      });
    }
    for (const p of this.composed!.plugins) {
      for (const [name, plan] of plans) {
        if (plan.plugin !== p || !names.includes(name)) continue;
        this.call(p, "restore", (ctx) => this.restoreOne(ctx, name, plan.accept), true);
      }
    }
  }

  private restoreOne(ctx: PluginContext, name: string, accept: readonly SubtreeVersion[]): void {
    const p = ctx.plugin;
    const phys: Ref<number> = {};
    const size: Ref<number> = {};
    const rc = ctx.khoIn!.retrieveSubtree(name, phys, size);
    if (rc !== 0) {
      this.subtrees.lost.push({
        name,
        plugin: p.name,
        phys: phys.value === undefined ? undefined : hex(phys.value),
        reason: `kho_retrieve_subtree failed: ${rc}`,
      });
      return;
    }
    const at = phys.value!;
    const bytes = size.value!;
    const blob = ctx.mem.read(at, Math.min(bytes, IDENTIFY_MAX));
    const seen = accept.map((v) => v.identify(blob));
    const hit = accept.findIndex((v, i) => seen[i] !== null && v.abi.compatible.includes(seen[i]!));
    const version = hit < 0 ? undefined : accept[hit];
    const compat = hit < 0 ? (seen.find((c) => c !== null) ?? null) : seen[hit]!;
    const where = { name, plugin: p.name, phys: hex(at), size: bytes };
    if (!version) {
      const accepted = accept.flatMap((v) => v.abi.compatible.slice(0, 1));
      this.subtrees.refused.push({ ...where, compatible: compat, accepted });
      p.incoming?.refused?.(ctx, { name, phys: at, size: bytes, compatible: compat, accepted });
      return;
    }
    try {
      p.incoming?.restore?.(ctx, { name, phys: at, size: bytes, compatible: compat!, version, khoIn: ctx.khoIn! });
    } catch (e) {
      if (e instanceof KernelPanic) throw e;
      const message = errorMessage(e);
      this.subtrees.lost.push({ ...where, compatible: compat, reason: message });
      this.notePoison(p, e);
      return;
    }
    this.subtrees.restored.push({ ...where, compatible: compat });
  }

  /**
   * What the outgoing kernel hands over: each preserved block, by order and
   * by owner, and a digest of every preserved page that holds data, to be
   * compared once the next kernel has reserved them.
   */
  private snapshot(k: Kernel): Snapshot {
    const byOrder: Record<string, number> = {};
    const byOwner: Record<string, number> = {};
    const ps = k.mem.pageSize;
    const ranges: [number, number][] = [];
    let blocks = 0;
    let pages = 0;
    k.out?.tree.walk((pa, order) => {
      blocks++;
      pages += 2 ** order;
      byOrder[order] = (byOrder[order] ?? 0) + 1;
      const owner = k.out!.ownerOf(pa, order);
      byOwner[owner] = (byOwner[owner] ?? 0) + 2 ** order;
      ranges.push([pa / ps, pa / ps + 2 ** order]);
      return 0;
    });
    ranges.sort((a, b) => a[0] - b[0]);
    const digests = new Map<number, string>();
    let r = 0;
    for (const pfn of k.mem.populatedPfns()) {
      while (r < ranges.length && ranges[r]![1] <= pfn) r++;
      if (r < ranges.length && ranges[r]![0] <= pfn) digests.set(pfn, digest(k.mem.page(pfn)));
    }
    return { digests, blocks, pages, byOrder, byOwner };
  }

  /** Compares every preserved page that held data with its digest from before the kexec. */
  private verify(s: Snapshot): void {
    const mem = this.kernel.mem;
    let same = 0;
    let bad = 0;
    for (const [pfn, d] of s.digests) {
      if (digest(mem.read(pfn * mem.pageSize, mem.pageSize)) === d) same++;
      else {
        bad++;
        this.anomalies.push({
          kind: "corruption",
          message: `preserved page ${hex(pfn * mem.pageSize)} changed across the kexec`,
          address: hex(pfn * mem.pageSize),
        });
      }
    }
    this.verifiedBytes = same * mem.pageSize;
    this.mismatches = bad;
  }

  private record(a: {
    kind: "cold-boot" | "kexec";
    from: TransitionReport["from"];
    snapshot: Snapshot | null;
    panic?: string;
    aborted?: { plugin: string; reason: string };
  }): TransitionReport {
    const k = this.kernel;
    if (a.panic) this.anomalies.push({ kind: "panic", message: `${k.release} would panic: ${a.panic}` });
    const s = a.snapshot;
    const report: TransitionReport = {
      index: this.reports.length,
      kind: a.kind,
      from: a.from,
      to: a.aborted
        ? null
        : {
            release: k.release,
            generation: k.generation,
            bootKind: k.bootKind,
            khoEnabled: k.khoEnabled,
            scratch: k.scratch.map((x) => ({ addr: hex(x.addr), size: hex(x.size) })),
          },
      outcome: a.aborted ? "aborted" : a.panic ? "panicked" : "running",
      ...(a.aborted ? { abortedBy: a.aborted } : {}),
      ...(a.panic ? { panic: a.panic } : {}),
      subtrees: this.subtrees,
      preserved: { blocks: s?.blocks ?? 0, pages: s?.pages ?? 0, byOrder: s?.byOrder ?? {}, byOwner: s?.byOwner ?? {} },
      verified: {
        bytes: s ? this.verifiedBytes : 0,
        pluginBytes: this.scope?.verifiedBytes ?? 0,
        mismatches: s ? this.mismatches : 0,
      },
      anomalies: this.anomalies,
      log: logLines(k.log.lines),
    };
    this.verifiedBytes = 0;
    this.mismatches = 0;
    this.reports.push(report);
    return report;
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function digest(page: Uint8Array): string {
  return createHash("sha1").update(page).digest("hex");
}
