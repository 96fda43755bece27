import { describe, expect, it } from "vitest";
import { defineAbi } from "../src/abi/schema.js";
import { KhoError } from "../src/errors.js";
import { composeKernel } from "../src/host/compose.js";
import { definePlugin } from "../src/host/plugin.js";
import { LiveUpdateHost } from "../src/host/runner.js";
import { serviceToken } from "../src/host/services.js";
import { defineSubtree } from "../src/host/subtree.js";
import { Kernel } from "../src/kexec/kernel.js";
import { blobLayout, blobPlugin, blobVersion, machine, memoryDigest } from "./helpers/host-plugins.js";

describe("composeKernel", () => {
  const a = definePlugin({ name: "a", dependsOn: ["b"] });
  const b = definePlugin({ name: "b", dependsOn: ["c"] });
  const c = definePlugin({ name: "c", dependsOn: ["a"] });

  it("rejects a dependency cycle and names it", () => {
    expect(() => composeKernel({ release: "r", plugins: [a, b, c] })).toThrowError(/cycle: a -> b -> c -> a/);
  });

  it("rejects a missing dependency naming both plugins", () => {
    expect(() => composeKernel({ release: "r", plugins: [a, c] })).toThrowError(
      /plugin "a" depends on "b", which is not in this kernel/,
    );
  });

  it("rejects two plugins claiming one subtree name", () => {
    expect(() =>
      composeKernel({ release: "r", plugins: [blobPlugin("one", "shared"), blobPlugin("two", "shared")] }),
    ).toThrowError(/plugins "one" and "two" both claim subtree "shared"/);
  });

  it("rejects a subtree schema without a compatible string", () => {
    const abi = defineAbi({ name: "bare", title: "t", summary: "s", version: "1", layout: blobLayout });
    expect(() => defineSubtree({ abi, identify: () => null })).toThrowError(/needs a compatible string/);
  });

  it("rejects duplicates, bad input and pins to versions nobody implements, as EINVAL", () => {
    const x = blobPlugin("x", "node-x");
    expect(() => composeKernel({ release: "r", plugins: [x, x] })).toThrowError(/listed twice/);
    expect(() => composeKernel({ release: "", plugins: [] })).toThrowError(/release must not be empty/);
    expect(() =>
      composeKernel({ release: "r", plugins: [x], versions: { "node-x": { write: "node-x-v9" } } }),
    ).toThrowError(/implements no version "node-x-v9"/);
    expect(() => composeKernel({ release: "r", plugins: [x], versions: { other: {} } })).toThrowError(
      /no plugin provides/,
    );
    expect(() => composeKernel({ release: "r", pageSize: 8192, plugins: [] })).toThrowError(KhoError);
  });

  it("orders core plugins (part of kho_init) before all others", () => {
    const k = composeKernel({
      release: "r",
      plugins: [definePlugin({ name: "late" }), definePlugin({ name: "kho-part", core: true })],
    });
    expect(k.plugins.map((x) => x.name)).toEqual(["kho-part", "late"]);
  });

  it("orders plugins by dependencies, stable otherwise", () => {
    const p = (name: string, dependsOn: string[] = []) => definePlugin({ name, dependsOn });
    const k = composeKernel({
      release: "r",
      plugins: [p("luo-memfd", ["luo"]), p("metadata"), p("luo"), p("hugetlb")],
    });
    expect(k.plugins.map((x) => x.name)).toEqual(["luo", "luo-memfd", "metadata", "hugetlb"]);
  });
});

describe("LiveUpdateHost", () => {
  it("runs hooks in dependency order on boot and kexec", () => {
    const calls: string[] = [];
    const hooks = (name: string) =>
      definePlugin({
        name,
        dependsOn: name === "child" ? ["parent"] : [],
        setup: () => void calls.push(`${name}.setup`),
        outgoing: { init: () => void calls.push(`${name}.init`), prepare: () => void calls.push(`${name}.prepare`) },
        incoming: { early: () => void calls.push(`${name}.early`), finish: () => void calls.push(`${name}.finish`) },
      });
    const k = composeKernel({ release: "r", plugins: [hooks("child"), hooks("parent")] });
    const host = new LiveUpdateHost(machine());
    host.boot(k);
    host.kexec(k);
    expect(calls).toEqual([
      "parent.setup",
      "child.setup",
      "parent.early",
      "child.early",
      "parent.init",
      "child.init",
      "parent.finish",
      "child.finish",
      "parent.prepare",
      "child.prepare",
      "parent.setup",
      "child.setup",
      "parent.early",
      "child.early",
      "parent.init",
      "child.init",
    ]);
  });

  it("hands a subtree to the plugin that owns its node name", () => {
    const p = blobPlugin("p", "node-p");
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [p] }));
    const r = host.kexec(composeKernel({ release: "B", plugins: [p] }));
    expect(host.context(p).state).toMatchObject({ got: 42n });
    expect(r.subtrees.restored).toEqual([
      expect.objectContaining({ name: "node-p", plugin: "p", compatible: "node-p-v1", size: 24 }),
    ]);
    expect(r.preserved.byOwner).toMatchObject({ p: 1 });
    expect(r.verified.bytes).toBeGreaterThan(0);
    expect(r.verified.mismatches).toBe(0);
  });

  it("a failing prepare aborts: earlier plugins get abort newest first, the machine stays, memory is unchanged", () => {
    const calls: string[] = [];
    const ok = (name: string) =>
      definePlugin({
        name,
        outgoing: { prepare: () => void calls.push(`${name}.prepare`), abort: () => void calls.push(`${name}.abort`) },
      });
    let failures = 1;
    const bad = definePlugin({
      name: "bad",
      outgoing: {
        prepare() {
          if (failures-- > 0) throw new KhoError("ENOSPC", "no room to serialize");
        },
        abort: () => void calls.push("bad.abort"),
      },
    });
    const k = composeKernel({
      release: "A",
      plugins: [ok("first"), ok("second"), bad, ok("last"), blobPlugin("p", "node-p")],
    });
    const host = new LiveUpdateHost(machine());
    host.boot(k);
    const before = memoryDigest(host.machine.mem);
    const kernelBefore = host.kernel;
    const r = host.kexec(composeKernel({ release: "B", plugins: [] }));
    expect(r.outcome).toBe("aborted");
    expect(r.abortedBy).toEqual({ plugin: "bad", reason: "no room to serialize" });
    expect(calls).toEqual(["first.prepare", "second.prepare", "second.abort", "first.abort"]);
    expect(host.kernel).toBe(kernelBefore);
    expect(host.kernel.state).toBe("running");
    expect(host.machine.handovers).toHaveLength(0);
    expect(memoryDigest(host.machine.mem)).toBe(before);
    // and it can retry once the cause is gone
    expect(host.kexec(composeKernel({ release: "B", plugins: [] })).outcome).toBe("running");
  });

  it("contains an exception in one plugin's restore: its state is lost with the reason, the others go on", () => {
    const broken = blobPlugin("broken", "node-broken", {
      restore() {
        throw new KhoError("EPROTO", "cannot parse my own blob");
      },
    });
    const fine = blobPlugin("fine", "node-fine");
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [broken, fine] }));
    const r = host.kexec(composeKernel({ release: "B", plugins: [broken, fine] }));
    expect(r.outcome).toBe("running");
    expect(r.subtrees.lost).toEqual([
      expect.objectContaining({
        name: "node-broken",
        plugin: "broken",
        reason: expect.stringMatching(/cannot parse my own blob/),
      }),
    ]);
    expect(r.subtrees.restored.map((s) => s.name)).toEqual(["node-fine"]);
    expect(host.context(fine).state).toMatchObject({ got: 42n });
  });

  it("a plugin that panics panics the kernel: the report says so and no further kexec is possible", () => {
    const panicky = blobPlugin("panicky", "node-x", {
      restore(ctx) {
        ctx.panic("incoming tree failed to initialise");
      },
    });
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [panicky] }));
    const r = host.kexec(composeKernel({ release: "B", plugins: [panicky] }));
    expect(r.outcome).toBe("panicked");
    expect(r.panic).toBe("incoming tree failed to initialise");
    expect(r.anomalies).toContainEqual(expect.objectContaining({ kind: "panic" }));
    expect(r.log.at(-1)).toBe("Kernel panic - not syncing: incoming tree failed to initialise");
    expect(() => host.kexec(composeKernel({ release: "C", plugins: [] }))).toThrowError(/panicked: no kexec possible/);
  });

  it("reports a subtree no plugin of the next kernel owns as orphaned", () => {
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [blobPlugin("p", "node-p")] }));
    const r = host.kexec(composeKernel({ release: "B", plugins: [] }));
    expect(r.subtrees.orphaned).toEqual([expect.objectContaining({ name: "node-p", size: 24 })]);
  });

  it("refuses a version the next kernel does not accept, naming both compatibles; accepts it when pinned", () => {
    const v1 = blobPlugin("p", "node-p", undefined, "node-p-v1");
    const both = definePlugin({
      ...blobPlugin("p", "node-p", undefined, "node-p-v2"),
      subtrees: [blobVersion("node-p", "node-p-v2"), blobVersion("node-p", "node-p-v1")],
    });
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [v1] }));
    const refused = host.kexec(composeKernel({ release: "B", plugins: [both] }));
    expect(refused.subtrees.refused).toEqual([
      expect.objectContaining({ name: "node-p", compatible: "node-p-v1", accepted: ["node-p-v2"] }),
    ]);
    expect(refused.subtrees.restored).toEqual([]);

    host.boot(composeKernel({ release: "A", plugins: [v1] }));
    const pinned = host.kexec(
      composeKernel({ release: "B", plugins: [both], versions: { "node-p": { accept: ["node-p-v2", "node-p-v1"] } } }),
    );
    expect(pinned.subtrees.restored).toEqual([expect.objectContaining({ name: "node-p", compatible: "node-p-v1" })]);
  });

  it("a read of unpreserved memory in the next kernel is a poison anomaly naming the address and the reader", () => {
    let stale = 0;
    const careless = definePlugin({
      name: "careless",
      outgoing: {
        init(ctx) {
          stale = ctx.alloc.alloc(0);
          ctx.mem.writeU64(stale, 7n);
        },
      },
      incoming: {
        early(ctx) {
          if (ctx.kernel.bootKind === "kho") ctx.mem.readU64(stale);
        },
      },
    });
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [careless] }));
    const r = host.kexec(composeKernel({ release: "B", plugins: [careless] }));
    const a = r.anomalies.find((x) => x.kind === "poison");
    expect(a).toMatchObject({ plugin: "careless", address: `0x${stale.toString(16)}` });
    expect(a?.message).toMatch(/careless \(early\) touched unowned memory/);
    expect(r.hookFailures).toEqual([
      expect.objectContaining({ plugin: "careless", hook: "early", code: "EHWPOISON", policy: "contain" }),
    ]);
    expect(r.subtrees.lost).toEqual([]);
  });

  it("flags a preserved page whose bytes changed across the kexec", () => {
    let target = 0;
    const scribbler = definePlugin({
      name: "scribbler",
      outgoing: {
        init(ctx) {
          target = ctx.kho.allocPreserve(64);
          ctx.mem.writeU64(target, 1n);
        },
      },
      incoming: {
        early(ctx) {
          if (ctx.kernel.bootKind === "kho") ctx.mem.writeU64(target, 2n);
        },
      },
    });
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [scribbler] }));
    const r = host.kexec(composeKernel({ release: "B", plugins: [] }));
    expect(r.verified.mismatches).toBe(0);
    host.boot(composeKernel({ release: "A", plugins: [scribbler] }));
    const scribbled = `0x${target.toString(16)}`;
    const bad = host.kexec(composeKernel({ release: "B", plugins: [scribbler] }));
    expect(bad.verified.mismatches).toBe(1);
    expect(bad.anomalies).toContainEqual(expect.objectContaining({ kind: "corruption", address: scribbled }));
  });

  it("plugins provide services to the plugins that depend on them, per kernel", () => {
    const REGISTRY = serviceToken<string[]>("test.registry");
    const provider = definePlugin({
      name: "provider",
      provides: [REGISTRY],
      setup: (ctx) => ctx.provide(REGISTRY, []),
    });
    const user = definePlugin({
      name: "user",
      dependsOn: ["provider"],
      setup: (ctx) => ctx.service(REGISTRY).push(ctx.kernel.release),
    });
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [user, provider] }));
    expect(host.context(provider).service(REGISTRY)).toEqual(["A"]);
    host.kexec(composeKernel({ release: "B", plugins: [user, provider] }));
    expect(host.context(provider).service(REGISTRY)).toEqual(["B"]);
    const lonely = definePlugin({ name: "lonely", setup: (ctx) => void ctx.service(REGISTRY) });
    const r = host.kexec(composeKernel({ release: "C", plugins: [lonely] }));
    expect(r.anomalies).toContainEqual(
      expect.objectContaining({
        kind: "hook-error",
        message: expect.stringMatching(/service "test.registry" is not provided/),
      }),
    );
  });

  it("reports are JSON-serialisable as they are", () => {
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [blobPlugin("p", "node-p")] }));
    const r = host.kexec(composeKernel({ release: "B", plugins: [blobPlugin("p", "node-p")] }));
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it("refuses a kernel built for another page size", () => {
    const host = new LiveUpdateHost(machine());
    expect(() => host.boot(composeKernel({ release: "A", pageSize: "16KiB", plugins: [] }))).toThrowError(
      /16384-byte pages, the machine has 4096/,
    );
  });
});

describe("hostile handover records", () => {
  it("a record asking to map more than an early mapping allows disables KHO revival without reading it", () => {
    const m = machine();
    m.boot({ release: "A" });
    const k = m.kernel!;
    const next = new Kernel(m.mem, { release: "B" }, 2);
    m.kernel = next;
    next.boot({
      imagePa: 64 << 20,
      record: { fdtPa: k.out!.fdtPa, fdtSize: 2 ** 40, scratchPa: 0x100000, scratchSize: 32 },
      recordBytes: null,
    });
    expect(next.bootKind).toBe("cold");
    expect(next.log.toString()).toMatch(/failed to memremap FDT[\s\S]*disabling KHO revival/);
    const huge = new Kernel(m.mem, { release: "C" }, 3);
    m.kernel = huge;
    huge.boot({
      imagePa: 64 << 20,
      record: { fdtPa: next.out!.fdtPa, fdtSize: 4096, scratchPa: 0x100000, scratchSize: 2 ** 40 },
      recordBytes: null,
    });
    expect(huge.bootKind).toBe("cold");
    expect(huge.log.toString()).toMatch(/failed to memremap scratch[\s\S]*disabling KHO revival/);
  });
});

describe("panics before the jump", () => {
  it("a panic in prepare stops the running kernel: no abort hooks, no kexec", () => {
    const calls: string[] = [];
    const first = definePlugin({
      name: "first",
      outgoing: { prepare: () => void calls.push("first.prepare"), abort: () => void calls.push("first.abort") },
    });
    const fatal = definePlugin({
      name: "fatal",
      outgoing: { prepare: (ctx) => ctx.panic("serialisation found a corrupted session list") },
    });
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [first, fatal] }));
    const r = host.kexec(composeKernel({ release: "B", plugins: [] }));
    expect(r.outcome).toBe("panicked");
    expect(r.panic).toBe("serialisation found a corrupted session list");
    expect(calls).toEqual(["first.prepare"]);
    expect(host.kernel.release).toBe("A");
    expect(host.kernel.state).toBe("panicked");
    expect(host.machine.handovers).toHaveLength(0);
  });
});

describe("loader failures", () => {
  it("an image that does not fit in scratch aborts the kexec like a failed prepare", () => {
    const calls: string[] = [];
    const p = definePlugin({
      name: "p",
      outgoing: { prepare: () => void calls.push("prepare"), abort: () => void calls.push("abort") },
    });
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [p] }));
    const before = memoryDigest(host.machine.mem);
    const r = host.kexec(composeKernel({ release: "huge", imageSize: "2GiB", plugins: [p] }));
    expect(r.outcome).toBe("aborted");
    expect(r.abortedBy).toMatchObject({
      plugin: "kexec",
      reason: expect.stringMatching(/no room for the kernel image/),
    });
    expect(calls).toEqual(["prepare", "abort"]);
    expect(host.kernel.release).toBe("A");
    expect(memoryDigest(host.machine.mem)).toBe(before);
  });
});

describe("core plugins", () => {
  it("a failing core plugin fails kho_init: KHO off, memory and scratch given back, next kexec is cold", () => {
    const broken = definePlugin({
      name: "kho-part",
      core: true,
      outgoing: {
        init(ctx) {
          ctx.kho.allocPreserve(64);
          throw new KhoError("ENOMEM", "no room for the metadata subtree");
        },
      },
    });
    const later = blobPlugin("later", "node-later");
    const host = new LiveUpdateHost(machine());
    const r = host.boot(composeKernel({ release: "A", plugins: [later, broken] }));
    expect(r.to).toMatchObject({ khoEnabled: false, scratch: [] });
    expect(r.anomalies).toContainEqual(expect.objectContaining({ kind: "hook-error", plugin: "kho-part" }));
    // kho_init() itself prints nothing when it fails; the simulator says why in a note.
    expect(r.log.some((l) => l.includes("no room for the metadata subtree"))).toBe(false);
    expect(r.notes).toContainEqual(expect.stringContaining("no room for the metadata subtree"));
    expect(host.kernel.out).toBeNull();
    // Its init ran after kho_init, found KHO off and failed (EOPNOTSUPP), contained.
    expect(host.context(later).state.pa).toBe(0);
    expect(r.hookFailures.map((f) => [f.plugin, f.hook, f.code, f.policy])).toEqual([
      ["kho-part", "init", "ENOMEM", "fail-kho-init"],
      ["later", "init", "EOPNOTSUPP", "contain"],
    ]);
    const next = host.kexec(composeKernel({ release: "B", plugins: [later] }));
    expect(next.to?.bootKind).toBe("cold");
    expect(host.machine.handovers.at(-1)?.record).toBeNull();
  });
});
