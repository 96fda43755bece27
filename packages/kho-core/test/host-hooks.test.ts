import { describe, expect, it } from "vitest";
import {
  composeKernel,
  definePlugin,
  HOOK_POLICY,
  type HookName,
  KernelPanic,
  KhoError,
  LiveUpdateHost,
} from "../src/index.js";
import { blobPlugin, machine } from "./helpers/host-plugins.js";

describe("hook failures follow HOOK_POLICY (issue 9 item 2)", () => {
  it("restore throws a TypeError: hookFailures has plugin, hook, message, stack; an anomaly; others restored", () => {
    const broken = blobPlugin("broken", "node-broken", {
      restore(_ctx, sub) {
        // A plugin bug, not an errno: reading a property of what is not there.
        (sub as unknown as { missing: { field: number } }).missing.field;
      },
    });
    const first = blobPlugin("first", "node-first");
    const last = blobPlugin("last", "node-last");
    const host = new LiveUpdateHost(machine());
    const k = (release: string) => composeKernel({ release, plugins: [first, broken, last] });
    host.boot(k("A"));
    const r = host.kexec(k("B"));
    expect(r.outcome).toBe("running");
    expect(r.hookFailures).toHaveLength(1);
    const f = r.hookFailures[0]!;
    expect(f).toMatchObject({ plugin: "broken", hook: "restore", code: "TypeError", policy: "contain" });
    expect(f.message).toMatch(/Cannot read properties of undefined/);
    expect(f.stack).toMatch(/TypeError: Cannot read properties of undefined[\s\S]*host-hooks\.test\.ts/);
    expect(r.anomalies).toEqual([
      { kind: "hook-error", plugin: "broken", message: expect.stringMatching(/^broken restore: Cannot read/) },
    ]);
    expect(r.subtrees.restored.map((s) => s.name)).toEqual(["node-first", "node-last"]);
    expect(r.subtrees.lost).toEqual([
      expect.objectContaining({ name: "node-broken", plugin: "broken", reason: f.message }),
    ]);
    expect(host.context(first).state.got).toBe(42n);
    expect(host.context(last).state.got).toBe(42n);
    // No subtree entry stands for a failure that is not a subtree.
    expect(r.subtrees.lost.map((s) => s.name)).not.toContainEqual(expect.stringMatching(/state/));
  });

  it("a failing prepare aborts the kexec: abortedBy, a hookFailures entry and an anomaly; abort hooks run", () => {
    const calls: string[] = [];
    const ok = definePlugin({
      name: "ok",
      outgoing: { prepare: () => void calls.push("ok prepare"), abort: () => void calls.push("ok abort") },
    });
    const refuses = definePlugin({
      name: "refuses",
      dependsOn: ["ok"],
      outgoing: {
        prepare() {
          throw new KhoError("EBUSY", "a session is still open");
        },
      },
    });
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [ok, refuses] }));
    const r = host.kexec(composeKernel({ release: "B", plugins: [ok, refuses] }));
    expect(r.outcome).toBe("aborted");
    expect(r.abortedBy).toEqual({ plugin: "refuses", reason: "a session is still open" });
    expect(r.hookFailures).toEqual([
      expect.objectContaining({ plugin: "refuses", hook: "prepare", code: "EBUSY", policy: "abort-kexec" }),
    ]);
    expect(r.anomalies).toContainEqual(expect.objectContaining({ kind: "hook-error", plugin: "refuses" }));
    expect(calls).toEqual(["ok prepare", "ok abort"]);
  });

  it("a contained init failure skips that plugin's later hooks in the kernel; others go on", () => {
    const calls: string[] = [];
    const flaky = definePlugin({
      name: "flaky",
      outgoing: {
        init() {
          throw new RangeError("bad size");
        },
        prepare: () => void calls.push("flaky prepare"),
      },
      incoming: { finish: () => void calls.push("flaky finish") },
    });
    const fine = definePlugin({ name: "fine", outgoing: { prepare: () => void calls.push("fine prepare") } });
    const host = new LiveUpdateHost(machine());
    const boot = host.boot(composeKernel({ release: "A", plugins: [flaky, fine] }));
    expect(boot.hookFailures).toEqual([
      expect.objectContaining({ plugin: "flaky", hook: "init", code: "RangeError", policy: "contain" }),
    ]);
    const r = host.kexec(composeKernel({ release: "B", plugins: [fine] }));
    expect(r.outcome).toBe("running");
    expect(calls).toEqual(["fine prepare"]);
  });

  it("ctx.panic from finish is a panic: host.finish() throws KernelPanic (not a KhoError), the kernel stops", () => {
    const panicky = definePlugin({
      name: "panicky",
      incoming: { finish: (ctx) => ctx.panic("state is inconsistent") },
    });
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [panicky] }));
    expect(() => host.finish()).toThrow(KernelPanic);
    expect(host.kernel.state).toBe("panicked");
    expect(new KernelPanic("A", "x")).not.toBeInstanceOf(KhoError);
    expect(() => host.kexec(composeKernel({ release: "B", plugins: [] }))).toThrow(/A is panicked: no kexec possible/);
  });

  it("a finish the workload runs between transitions reports its failure in the running kernel's boot report", () => {
    const sloppy = definePlugin({
      name: "sloppy",
      incoming: {
        finish() {
          throw new KhoError("ENOENT", "nothing to release");
        },
      },
    });
    const host = new LiveUpdateHost(machine());
    const boot = host.boot(composeKernel({ release: "A", plugins: [sloppy] }));
    expect(boot.hookFailures).toEqual([]);
    host.finish();
    expect(boot.hookFailures).toEqual([
      expect.objectContaining({ plugin: "sloppy", hook: "finish", code: "ENOENT", policy: "contain" }),
    ]);
    expect(boot.anomalies).toEqual([expect.objectContaining({ kind: "hook-error", plugin: "sloppy" })]);
  });

  it.each([
    ["prepare", definePlugin({ name: "panicky", outgoing: { prepare: (ctx) => ctx.panic("cannot freeze") } })],
    ["finish", definePlugin({ name: "panicky", incoming: { finish: (ctx) => ctx.panic("cannot finish") } })],
  ])("a panic in %s before a kexec names the hook in hookFailures, with the panic anomaly only", (hook, panicky) => {
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [panicky] }));
    const r = host.kexec(composeKernel({ release: "B", plugins: [panicky] }));
    expect(r.outcome).toBe("panicked");
    expect(r.hookFailures).toEqual([expect.objectContaining({ plugin: "panicky", hook, policy: "panic" })]);
    expect(r.anomalies.map((a) => a.kind)).toEqual(["panic"]);
  });

  it("the policy table covers every hook; only init differs for core plugins", () => {
    const hooks: HookName[] = ["setup", "early", "restore", "refused", "init", "prepare", "abort", "finish"];
    expect(Object.keys(HOOK_POLICY).sort()).toEqual([...hooks].sort());
    expect(hooks.filter((h) => HOOK_POLICY[h].coreFailure)).toEqual(["init"]);
    expect(HOOK_POLICY.init.coreFailure).toBe("fail-kho-init");
    expect(HOOK_POLICY.prepare.failure).toBe("abort-kexec");
  });
});

describe("initcall levels (issue 8 item 6)", () => {
  it("plugins' init runs after kho_init, by initcall level, then in dependency order", () => {
    const order: string[] = [];
    const at = (name: string, initcall?: "fs" | "device" | "late", dependsOn?: string[]) =>
      definePlugin({
        name,
        ...(initcall ? { initcall } : {}),
        ...(dependsOn ? { dependsOn } : {}),
        outgoing: { init: () => void order.push(name) },
      });
    const core = definePlugin({
      name: "core-part",
      core: true,
      outgoing: { init: () => void order.push("core-part (inside kho_init)") },
    });
    const plugins = [at("late-one"), at("dev", "device"), at("fs-one", "fs"), core, at("late-two", "late", ["dev"])];
    const k = composeKernel({ release: "A", plugins });
    expect(k.initOrder.map((p) => p.name)).toEqual(["fs-one", "dev", "late-one", "late-two"]);
    new LiveUpdateHost(machine()).boot(k);
    expect(order).toEqual(["core-part (inside kho_init)", "fs-one", "dev", "late-one", "late-two"]);
  });

  it("a plugin whose init level comes before its dependency's is refused, naming both", () => {
    const dep = definePlugin({ name: "dep", initcall: "late" });
    const early = definePlugin({ name: "eager", initcall: "device", dependsOn: ["dep"] });
    expect(() => composeKernel({ release: "A", plugins: [dep, early] })).toThrowError(
      /plugin "eager" \(init at device_initcall\) depends on "dep", whose init runs later \(late_initcall\)/,
    );
  });
});
