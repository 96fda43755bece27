import "reflect-metadata";
import { container, type DependencyContainer } from "tsyringe";
import { isKhoError, KernelPanic, KhoError } from "../errors.js";
import { fdtVerdict } from "../fdt/check.js";
import { getName, subnodes } from "../fdt/ro.js";
import type { BootHooks, Kernel } from "../kexec/kernel.js";
import { type Handover, Machine } from "../kexec/machine.js";
import { type MemoryMap, memoryMapOf } from "../kexec/memory-map.js";
import { type Ref, retrieveAt } from "../kho/in.js";
import type { SeededRun } from "../mem/seeded.js";
import { hex } from "../units.js";
import { type ComposedKernel, formatIssues } from "./compose.js";
import { KernelScope, kernelInfo, PluginContext, TOKENS } from "./context.js";
import { PAGE_DIGEST_WORDS, pageDigestInto } from "./page-digest.js";
import { type AnyPlugin, HOOK_POLICY, type HookName, type KhoPlugin, type SubtreeVersion } from "./plugin.js";
import { logLines, type TransitionReport } from "./report.js";
import { errorMessage, Transition } from "./transition.js";

/** The bytes identify() sees of an incoming blob: enough for any header, bounded against hostile sizes. */
const IDENTIFY_MAX = 64 << 10;

/**
 * Preserved pages that held data at the handover: stored pages by digest,
 * seeded pages as the runs of frames that still followed their seed (a
 * 256 GiB fill is one run, verified without materialising it).
 */
interface Snapshot {
  /** Frames of the stored preserved pages, and their digests (PAGE_DIGEST_WORDS each, in that order). */
  readonly stored: readonly number[];
  readonly digests: Uint32Array;
  readonly seeded: readonly SeededRun[];
  readonly blocks: number;
  readonly pages: number;
  readonly byOrder: Record<string, number>;
  readonly byOwner: Record<string, number>;
}

export interface LiveUpdateHostOptions {
  /** Capture one memory map per transition (`LiveUpdateHost.memoryMaps`). */
  readonly memoryMaps?: boolean;
  /**
   * Called at each kexec's jump, before the next kernel writes anything,
   * with the index its report will have: where a handover image is taken
   * (`jumpImage` of `@khosim/kho-core/image`).
   */
  readonly atJump?: (machine: Machine, handover: Handover, transition: number) => void;
}

/** Thrown through the prepare loop when a hook's failure aborts the kexec. */
class KexecAborted {
  constructor(
    readonly plugin: string,
    readonly error: unknown,
  ) {}
}

/**
 * Runs kernels composed of plugins on one machine, through live updates.
 * Each booted kernel gets a child container (its scope: the kernel, its
 * composition, the services plugins provide) and one context per plugin;
 * hooks run in dependency order at the points of a boot HOOK_POLICY names,
 * and what a hook's failure means comes from that table alone. Every
 * transition yields a report built from one `Transition`.
 */
export class LiveUpdateHost {
  readonly reports: TransitionReport[] = [];
  private readonly root: DependencyContainer = container.createChildContainer();
  private scope: KernelScope | null = null;
  private composed: ComposedKernel | null = null;
  private readonly contexts = new Map<string, PluginContext>();
  private t = new Transition();
  private finished = true;
  /**
   * With `memoryMaps`, one map per report (same index): for a kexec that
   * jumped, memory at the jump as the next kernel finds it (what was handed
   * over, by owner, and the poison around it); otherwise the running
   * kernel's memory when the transition ends.
   */
  readonly memoryMaps: MemoryMap[] = [];
  private jumpMap: MemoryMap | null = null;

  /** Plugins of the running kernel whose later hooks are skipped (HOOK_POLICY's stopsPlugin). */
  private get disabled(): Set<string> {
    return this.scope?.disabled ?? new Set();
  }

  constructor(
    readonly machine: Machine = new Machine(),
    private readonly opts: LiveUpdateHostOptions = {},
  ) {}

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

  /**
   * Runs a plugin's action (`"counter.increment"`) in the running kernel,
   * its arguments checked against the action's schema first (EINVAL
   * listing every issue). What the action throws reaches the caller.
   */
  action(qualified: string, args: unknown = {}): void {
    const dot = qualified.indexOf(".");
    const name = qualified.slice(0, dot);
    const ctx = this.contexts.get(name);
    const action = dot > 0 && ctx ? ctx.plugin.actions?.[qualified.slice(dot + 1)] : undefined;
    if (!ctx || !action)
      throw new KhoError("ENOENT", `no action "${qualified}" in the running kernel ${this.kernel.release}`);
    if (this.kernel.state !== "running")
      throw new KhoError("EINVAL", `kernel ${this.kernel.release} is ${this.kernel.state}: no action possible`);
    const parsed = action.args.safeParse(args);
    if (!parsed.success) throw new KhoError("EINVAL", `${qualified}: ${formatIssues(parsed.error.issues)}`, "args");
    this.attributed(ctx, qualified, () => action.run(ctx, parsed.data));
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
    this.t = new Transition();
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
   * scenario did not. Called by the workload, between transitions, its
   * failures go to the report of the transition that booted the running
   * kernel. A hook calling `ctx.panic` stops the kernel and the KernelPanic
   * reaches the caller.
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
    this.t = new Transition();
    const prepared: AnyPlugin[] = [];
    const abort = (plugin: string, e: unknown): TransitionReport => {
      for (const q of prepared.reverse()) this.run(q, "abort", (ctx) => q.outgoing?.abort?.(ctx));
      return this.record({ kind: "kexec", from, snapshot: null, aborted: { plugin, reason: errorMessage(e) } });
    };
    try {
      this.finish();
      for (const p of this.composed?.plugins ?? []) {
        if (!p.outgoing?.prepare || this.disabled.has(p.name)) continue;
        this.run(p, "prepare", (ctx) => p.outgoing?.prepare?.(ctx));
        prepared.push(p);
      }
    } catch (e) {
      // The running kernel itself panicked while preparing: no abort, no kexec.
      if (e instanceof KernelPanic) return this.record({ kind: "kexec", from, snapshot: null, panic: e.reason });
      if (e instanceof KexecAborted) return abort(e.plugin, e.error);
      throw e;
    }
    const snapshot = this.snapshot(old);
    let panic: string | undefined;
    try {
      this.machine.kexec(next.spec, this.hooks(next, snapshot));
    } catch (e) {
      // The loader failed before the jump (no room for the image in scratch): as a failed prepare.
      if (this.machine.kernel === old && isKhoError(e)) return abort("kexec", e);
      if (!(e instanceof KernelPanic)) throw e;
      panic = e.reason;
    }
    return this.record({ kind: "kexec", from, snapshot, panic });
  }

  /**
   * Where the hooks run in a boot. `early`: scope, `setup`, `early`.
   * `restore` (early_initcall): the content check, then the subtrees of
   * plugins that are not core. `khoInit` (inside kho_init): core plugins
   * read their subtrees, then `init`. `late` (after kho_init has finished):
   * every other plugin's `init`, by initcall level.
   */
  private hooks(k: ComposedKernel, snapshot: Snapshot | null = null): BootHooks {
    return {
      early: (kernel) => {
        if (snapshot) this.atJump();
        this.enter(kernel, k);
        this.each("setup", (p, ctx) => p.setup?.(ctx));
        this.each("early", (p, ctx) => p.incoming?.early?.(ctx));
      },
      restore: (kernel) => {
        if (snapshot) this.verify(snapshot);
        if (kernel.in?.active) this.routeSubtrees(kernel, false);
      },
      khoInit: (kernel) => {
        if (kernel.in?.active) this.routeSubtrees(kernel, true);
        for (const p of k.plugins)
          if (p.core && !this.disabled.has(p.name)) this.run(p, "init", (ctx) => p.outgoing?.init?.(ctx));
      },
      late: () => {
        for (const p of k.initOrder)
          if (!this.disabled.has(p.name)) this.run(p, "init", (ctx) => p.outgoing?.init?.(ctx));
      },
    };
  }

  /** At the jump, before the next kernel allocates anything: the memory map and the caller's `atJump`. */
  private atJump(): void {
    const h = this.machine.handovers.at(-1)!;
    const mem = this.machine.mem;
    if (this.opts.memoryMaps)
      this.jumpMap = memoryMapOf({ mem, out: h.from.out, scratch: h.from.scratch, segments: h.segments });
    this.opts.atJump?.(this.machine, h, this.reports.length);
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
    const info = kernelInfo(kernel);
    for (const p of k.plugins) this.contexts.set(p.name, new PluginContext(this.scope, p, p.state?.(info)));
  }

  private each(hook: HookName, fn: (p: AnyPlugin, ctx: PluginContext) => void): void {
    for (const p of this.composed?.plugins ?? [])
      if (!this.disabled.has(p.name)) this.run(p, hook, (ctx) => fn(p, ctx));
  }

  /** Runs `fn` with memory accesses and preservations attributed to the context's plugin. */
  private attributed(ctx: PluginContext, what: string, fn: () => void): void {
    const kernel = this.kernel;
    const prevActor = kernel.mem.actor;
    kernel.mem.actor = `${ctx.plugin.name} (${what})`;
    if (kernel.out) kernel.out.actor = ctx.plugin.name;
    try {
      fn();
    } finally {
      kernel.mem.actor = prevActor;
      if (kernel.out) kernel.out.actor = "kernel";
    }
  }

  /**
   * Runs one hook of one plugin; what its failure means is HOOK_POLICY's
   * call, nothing else's. Returns false when the hook failed and was
   * contained. A KernelPanic always propagates.
   */
  private run(p: AnyPlugin, hook: HookName, fn: (ctx: PluginContext) => void): boolean {
    const ctx = this.contexts.get(p.name);
    if (!ctx) return true;
    try {
      this.attributed(ctx, hook, () => fn(ctx));
      return true;
    } catch (e) {
      if (e instanceof KernelPanic) {
        // The report's panic anomaly says it; the failure names the hook.
        this.t.hookFailed(p.name, hook, e, "panic");
        throw e;
      }
      const rule = HOOK_POLICY[hook];
      const policy = (p.core ? rule.coreFailure : undefined) ?? rule.failure;
      this.t.hookFailed(p.name, hook, e, policy);
      switch (policy) {
        case "contain":
          if (rule.stopsPlugin) this.disabled.add(p.name);
          return false;
        case "abort-kexec":
          throw new KexecAborted(p.name, e);
        case "fail-kho-init":
          throw isKhoError(e) ? e : new KhoError("EINVAL", `${p.name} ${hook}: ${errorMessage(e)}`, p.name);
      }
    }
  }

  /**
   * Every child of the incoming root FDT goes to the plugin owning its node
   * name, if its compatible is accepted; otherwise it is refused (with both
   * strings), orphaned (no plugin) or lost (unreadable), and reported. Core
   * plugins read theirs inside kho_init, the others at early_initcall.
   */
  private routeSubtrees(kernel: Kernel, core: boolean): void {
    const kin = kernel.in!;
    const fdt = kin.fdt;
    const children = [...subnodes(fdt, 0)].map((node) => ({ node, name: getName(fdt, node) }));
    const names = children.map((c) => c.name);
    const plans = this.composed!.nodes;
    // libfdt ends a subnode walk quietly at a broken tag, so the kernel's
    // lookups find no child past it: say so, and list every subtree a plugin
    // looked for and did not find, instead of losing it without a word.
    const damage = fdtVerdict(fdt);
    if (damage && !core)
      kernel.log.notes.push(`incoming root FDT is damaged (${damage}): children past the damage cannot be found`);
    if (!core)
      for (const { node, name } of children.filter((c) => !plans.has(c.name))) {
        const phys: Ref<number> = {};
        const size: Ref<number> = {};
        // By offset: a name holding bytes that are no text is not found again by name.
        retrieveAt(fdt, node, name, phys, size);
        this.t.subtrees.orphaned.push({
          name,
          phys: phys.value === undefined ? undefined : hex(phys.value),
          size: size.value,
        });
      }
    for (const p of this.composed!.plugins) {
      if (Boolean(p.core) !== core || this.disabled.has(p.name)) continue;
      for (const [name, plan] of plans) {
        if (plan.plugin !== p) continue;
        if (names.includes(name)) this.restoreOne(p, name, plan.accept);
        else if (damage)
          this.t.subtrees.lost.push({
            name,
            plugin: p.name,
            reason: `kho_retrieve_subtree: -ENOENT, the incoming root FDT is damaged (${damage})`,
          });
      }
    }
  }

  private restoreOne(p: AnyPlugin, name: string, accept: readonly SubtreeVersion[]): void {
    const ctx = this.contexts.get(p.name)!;
    const kin = this.kernel.in!;
    const phys: Ref<number> = {};
    const size: Ref<number> = {};
    const rc = kin.retrieveSubtree(name, phys, size);
    if (rc !== 0) {
      this.t.subtrees.lost.push({
        name,
        plugin: p.name,
        phys: phys.value === undefined ? undefined : hex(phys.value),
        reason: `kho_retrieve_subtree failed: ${rc}`,
      });
      return;
    }
    const at = phys.value!;
    const bytes = size.value!;
    let blob: Uint8Array;
    try {
      blob = this.kernel.mem.read(at, Math.min(bytes, IDENTIFY_MAX));
    } catch (e) {
      if (!isKhoError(e)) throw e;
      this.t.notePoison(p.name, e);
      this.t.subtrees.lost.push({ name, plugin: p.name, phys: hex(at), size: bytes, reason: errorMessage(e) });
      return;
    }
    const seen = accept.map((v) => v.identify(blob));
    const hit = accept.findIndex((v, i) => seen[i] !== null && v.abi.compatible.includes(seen[i]!));
    const version = hit < 0 ? undefined : accept[hit];
    const compat = hit < 0 ? (seen.find((c) => c !== null) ?? null) : seen[hit]!;
    const where = { name, plugin: p.name, phys: hex(at), size: bytes };
    if (!version) {
      const accepted = accept.flatMap((v) => v.abi.compatible.slice(0, 1));
      this.t.subtrees.refused.push({ ...where, compatible: compat, accepted });
      this.run(p, "refused", () =>
        p.incoming?.refused?.(ctx, { name, phys: at, size: bytes, compatible: compat, accepted }),
      );
      return;
    }
    const sub = { name, phys: at, size: bytes, compatible: compat!, version, khoIn: kin };
    if (this.run(p, "restore", () => p.incoming?.restore?.(ctx, sub)))
      this.t.subtrees.restored.push({ ...where, compatible: compat });
    else this.t.subtrees.lost.push({ ...where, compatible: compat, reason: this.t.hookFailures.at(-1)?.message });
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
    const stored: number[] = [];
    let r = 0;
    for (const pfn of k.mem.populatedPfns()) {
      while (r < ranges.length && ranges[r]![1] <= pfn) r++;
      if (r < ranges.length && ranges[r]![0] <= pfn) stored.push(pfn);
    }
    const digests = new Uint32Array(stored.length * PAGE_DIGEST_WORDS);
    stored.forEach((pfn, i) => {
      pageDigestInto(k.mem.page(pfn), digests, i * PAGE_DIGEST_WORDS);
    });
    const seeded: SeededRun[] = [];
    for (const [s, e] of mergeRanges(ranges)) seeded.push(...k.mem.seededRuns(s, e));
    return { stored, digests, seeded, blocks, pages, byOrder, byOwner };
  }

  /**
   * Compares every preserved page that held data with its digest from
   * before the kexec; a seeded run is compared with its seed (pages still
   * following it match by construction, the others byte for byte).
   */
  private verify(s: Snapshot): void {
    const mem = this.kernel.mem;
    let same = 0;
    let bad = 0;
    const changed = (pa: number): void => {
      bad++;
      this.t.anomalies.push({
        kind: "corruption",
        message: `preserved page ${hex(pa)} changed across the kexec`,
        address: hex(pa),
      });
    };
    const now = new Uint32Array(PAGE_DIGEST_WORDS);
    const page = new Uint8Array(mem.pageSize);
    s.stored.forEach((pfn, i) => {
      pageDigestInto(mem.readInto(pfn * mem.pageSize, page), now, 0);
      const at = i * PAGE_DIGEST_WORDS;
      if (now[0] === s.digests[at] && now[1] === s.digests[at + 1]) same++;
      else changed(pfn * mem.pageSize);
    });
    for (const run of s.seeded) {
      const diffs = [...mem.seededDiffs(run.start * mem.pageSize, (run.end - run.start) * mem.pageSize, run.seed)];
      same += run.end - run.start - diffs.length;
      for (const pa of diffs) changed(pa);
    }
    this.t.verifiedBytes = same * mem.pageSize;
    this.t.mismatches = bad;
  }

  private record(a: {
    kind: "cold-boot" | "kexec";
    from: TransitionReport["from"];
    snapshot: Snapshot | null;
    panic?: string;
    aborted?: { plugin: string; reason: string };
  }): TransitionReport {
    const k = this.kernel;
    const t = this.t;
    if (a.panic) t.anomalies.push({ kind: "panic", message: `${k.release} would panic: ${a.panic}` });
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
            handover: k.handover,
            khoEnabled: k.khoEnabled,
            scratch: k.scratch.map((x) => ({ addr: hex(x.addr), size: hex(x.size) })),
          },
      outcome: a.aborted ? "aborted" : a.panic ? "panicked" : "running",
      ...(a.aborted ? { abortedBy: a.aborted } : {}),
      ...(a.panic ? { panic: a.panic } : {}),
      subtrees: t.subtrees,
      preserved: { blocks: s?.blocks ?? 0, pages: s?.pages ?? 0, byOrder: s?.byOrder ?? {}, byOwner: s?.byOwner ?? {} },
      verified: {
        bytes: s ? t.verifiedBytes : 0,
        pluginBytes: this.scope?.verifiedBytes ?? 0,
        mismatches: s ? t.mismatches : 0,
      },
      hookFailures: t.hookFailures,
      anomalies: t.anomalies,
      log: logLines(k.log.lines),
      notes: [...k.log.notes],
      hazards: [...k.log.hazards],
    };
    this.reports.push(report);
    if (this.opts.memoryMaps)
      this.memoryMaps.push(this.jumpMap ?? memoryMapOf({ mem: k.mem, out: k.out, scratch: k.scratch }));
    this.jumpMap = null;
    return report;
  }
}

/** Sorted [start, end) ranges with touching ones joined. */
function mergeRanges(sorted: readonly [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (const [s, e] of sorted) {
    const last = out.at(-1);
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}
