import { type AnyPlugin, definePlugin, KhoError, LiveUpdateHost } from "@khosim/kho-core";
import { readBlockHeader } from "@khosim/kho-core/block";
import { describe, expect, it } from "vitest";
import {
  type LiveupdateFlb,
  LUO_REGISTRY,
  luo_file_set_ser,
  luo_flb_header_ser,
  luo_flb_ser,
  luo_ser,
  luo_session_ser,
  luoPlugin,
  luoRestorePanic,
} from "../src/index.js";
import {
  boot,
  expectErrno,
  handlerPlugin,
  kernel,
  LUO_CMDLINE,
  luo,
  machine,
  memfdWith,
  TokenFile,
  tokenHandler,
  uapi,
} from "./helpers.js";

/** A plugin whose prepare runs after LUO's reboot serialisation and may change what it wrote. */
function afterReboot(name: string, prepare: (host: LiveUpdateHost) => void, host: () => LiveUpdateHost): AnyPlugin {
  return definePlugin({ name, dependsOn: ["luo"], outgoing: { prepare: () => prepare(host()) } });
}

function luoSer(host: LiveUpdateHost) {
  return luo_ser.readAt(host.kernel.mem, luo(host).core.luoSerPa);
}

describe("LUO checklist (spec §12)", () => {
  it("checklist 29: 52 sessions take 2 blocks (4 KiB); closing one frees the second", () => {
    const host = boot();
    const v = uapi(host);
    const dev = v.open();
    const fds = Array.from({ length: 52 }, (_, i) => v.createSession(dev, `s${i}`));
    const set = luo(host).core.sessions.blocks;
    expect(set.nblocks).toBe(2);
    const second = set.blocks[1]!;
    v.close(fds[7]!);
    expect(set.nblocks).toBe(1);
    expect(host.kernel.out!.preserved().some((f) => f.pa === second)).toBe(false);
  });

  it("checklist 30: 52 sessions serialised: counts 51 and 1, block 1 links block 2, block 2 ends", () => {
    let host: LiveUpdateHost | undefined;
    const seen: { headers: unknown[]; sessionsPa: bigint; lastName: string }[] = [];
    const look = (h: LiveUpdateHost) => {
      const mem = h.kernel.mem;
      const blocks = luo(h).core.sessions.blocks.blocks;
      seen.push({
        headers: blocks.map((b) => readBlockHeader(mem, b)),
        sessionsPa: luo_ser.readAt(mem, luo(h).core.luoSerPa).sessions_pa,
        lastName: luo_session_ser.readAt(mem, blocks[1]! + 16).name,
      });
    };
    host = new LiveUpdateHost(machine());
    host.boot(kernel("A", { plugins: [afterReboot("look", look, () => host!)] }));
    const v = uapi(host);
    const dev = v.open();
    for (let i = 0; i < 52; i++) v.createSession(dev, `s${i}`);
    const [b1, b2] = luo(host).core.sessions.blocks.blocks as [number, number];
    host.kexec(kernel("B"));
    expect(seen).toEqual([
      {
        headers: [
          { next: b2, count: 51n },
          { next: 0, count: 1n },
        ],
        sessionsPa: BigInt(b1),
        lastName: "s51",
      },
    ]);
  });

  it("checklist 31: luo_ser is luo-v5 with liveupdate_num 1 after a cold boot and N+1 after receiving N", () => {
    const host = boot();
    expect(luoSer(host)).toEqual({
      compatible: "luo-v5",
      liveupdate_num: 1n,
      sessions_pa: 0n,
      flbs_pa: BigInt(luo(host).core.flbs.pagePa),
    });
    host.kernel.mem.writeU64(luo(host).core.luoSerPa + luo_ser.offsetOf("liveupdate_num"), 41);
    const r = host.kexec(kernel("B"));
    expect(r.log).toContain("luo: Retrieved live update data, liveupdate number: 41");
    expect(luoSer(host).liveupdate_num).toBe(42n);
    host.kexec(kernel("C"));
    expect(luoSer(host).liveupdate_num).toBe(43n);
  });

  const panicking: [string, (h: LiveUpdateHost) => void, string][] = [
    [
      "a 16-byte blob",
      (h) => {
        const pa = luo(h).core.luoSerPa;
        h.kernel.out!.removeSubtree(pa);
        h.kernel.out!.addSubtree("LUO", pa, 16);
      },
      "luo: LUO state is too small (16 < 32)",
    ],
    [
      'compatible "luo-v4"',
      (h) => h.kernel.mem.write(luo(h).core.luoSerPa, new TextEncoder().encode("luo-v4")),
      "luo: LUO state is incompatible with 'luo-v5'",
    ],
  ];
  it.each(panicking)("checklist 32: %s panics the next kernel with the kernel's message", (_what, tamper, line) => {
    let host: LiveUpdateHost | undefined;
    host = new LiveUpdateHost(machine());
    host.boot(kernel("A", { plugins: [afterReboot("tamper", tamper, () => host!)] }));
    const r = host.kexec(kernel("B"));
    expect(r.outcome).toBe("panicked");
    expect(r.panic).toBe(luoRestorePanic("EINVAL"));
    expect(r.panic).toBe("The incoming tree failed to initialize properly [-EINVAL], disabling live update");
    expect(r.log).toContain(line);
    expect(r.log.at(-1)).toBe(`Kernel panic - not syncing: ${r.panic}`);
  });

  it("checklist 33: a kernel receiving no LUO subtree boots normally with liveupdate_num 0", () => {
    const host = new LiveUpdateHost(machine());
    host.boot(kernel("A", { cmdline: "kho=on" }));
    expect(luo(host).core.luoSerPa).toBe(0);
    const r = host.kexec(kernel("B"));
    expect(r.outcome).toBe("running");
    expect(luo(host).core.liveupdateNum).toBe(0n);
    expect(luoSer(host).liveupdate_num).toBe(1n);
    expect(r.log.some((l) => l.startsWith("luo: "))).toBe(false);
  });

  it("checklist 34: an unknown file-handler compatible makes every open of /dev/liveupdate fail with EIO", () => {
    const host = boot({ plugins: [handlerPlugin("test-fh", tokenHandler("test-token-v1"))] });
    const u = uapi(host);
    u.preserveFd(u.createSession(u.open(), "s"), u.installFile(new TokenFile(7n)), 1n);
    host.kexec(kernel("B"));
    const v = uapi(host);
    expectErrno(() => v.open(), "EIO");
    expectErrno(() => v.open(), "EIO");
  });

  it("checklist 35: file_set_ser.count differing from the entries in the chain fails deserialisation (EIO)", () => {
    let host: LiveUpdateHost | undefined;
    const bump = (h: LiveUpdateHost) => {
      const slot = luo(h).core.sessions.blocks.blocks[0]! + 16;
      const at = slot + luo_session_ser.offsetOf("file_set_ser") + luo_file_set_ser.offsetOf("count");
      h.kernel.mem.writeU64(at, h.kernel.mem.readU64(at) + 1n);
    };
    host = new LiveUpdateHost(machine());
    host.boot(kernel("A", { plugins: [afterReboot("tamper", bump, () => host!)] }));
    const u = uapi(host);
    u.preserveFd(u.createSession(u.open(), "s"), memfdWith(host, "x"), 1n);
    host.kexec(kernel("B"));
    const e = expectErrno(() => uapi(host!).open(), "EIO");
    expect(e.message).toContain("File count mismatch");
  });

  it("checklist 36: no sessions leaves sessions_pa 0; a session without files has file_set_ser {0, 0}", () => {
    const host = boot();
    const serPa = luo(host).core.luoSerPa;
    host.kexec(kernel("B"));
    expect(luo_ser.readAt(host.kernel.mem, serPa).sessions_pa).toBe(0n);
    uapi(host).createSession(uapi(host).open(), "empty");
    const slot = luo(host).core.sessions.blocks.blocks[0]! + 16;
    host.kexec(kernel("C"));
    expect(luo_session_ser.readAt(host.kernel.mem, slot)).toEqual({
      name: "empty",
      file_set_ser: { files: 0n, count: 0n },
    });
  });

  it("checklist 37: a failing freeze aborts the kexec, unfreezes and zeroes what came before, allows a retry", () => {
    const calls: string[] = [];
    let refuse = true;
    const fh = tokenHandler("test-token-v1", { calls, freezeFails: (f) => refuse && f.value === 3n });
    const host = boot({ plugins: [handlerPlugin("test-fh", fh)] });
    const u = uapi(host);
    const dev = u.open();
    const s1 = u.createSession(dev, "first");
    u.preserveFd(s1, u.installFile(new TokenFile(1n)), 1n);
    const s2 = u.createSession(dev, "second");
    u.preserveFd(s2, u.installFile(new TokenFile(2n)), 2n);
    u.preserveFd(s2, u.installFile(new TokenFile(3n)), 3n);
    calls.length = 0;
    const r = host.kexec(kernel("B", { plugins: [handlerPlugin("test-fh", fh)] }));
    expect(r.outcome).toBe("aborted");
    expect(r.abortedBy).toMatchObject({ plugin: "luo", reason: "freeze refused" });
    expect(r.log).toContain("luo: Freeze failed for token[0x3] handler[test-token-v1] err[-EIO]");
    // Files of the failing session before the failure, then the earlier sessions.
    expect(calls).toEqual(["freeze 1", "freeze 2", "freeze 3", "unfreeze 2", "unfreeze 1"]);
    const [block] = luo(host).core.sessions.blocks.blocks as [number];
    expect(host.kernel.mem.read(block + 16, 2 * luo_session_ser.size).every((b) => b === 0)).toBe(true);
    for (const s of luo(host).core.sessions.outgoing.values())
      for (const b of s.files.blocks.blocks) expect(readBlockHeader(host.kernel.mem, b).count).toBe(0n);
    expect(luo(host).core.sessions.serialized).toBe(false);
    refuse = false;
    const again = host.kexec(kernel("B", { plugins: [handlerPlugin("test-fh", fh)] }));
    expect(again.outcome).toBe("running");
    const v = uapi(host);
    const d2 = v.open();
    expect(v.getName(v.retrieveSession(d2, "second"))).toBe("second");
  });

  it("checklist 38: after a successful serialisation, creating a session is refused", () => {
    const failer = definePlugin({
      name: "later",
      dependsOn: ["luo"],
      outgoing: {
        prepare() {
          throw new KhoError("EIO", "later plugin refuses");
        },
      },
    });
    const host = boot({ plugins: [failer] });
    const u = uapi(host);
    const dev = u.open();
    u.createSession(dev, "kept");
    const r = host.kexec(kernel("B"));
    expect(r.outcome).toBe("aborted");
    expect(luo(host).core.sessions.serialized).toBe(true);
    expectErrno(() => u.createSession(dev, "late"), "EBUSY");
  });

  it("checklist 39: can_finish false makes FINISH fail with EBUSY and finishes nothing; a retry may succeed", () => {
    const calls: string[] = [];
    let ready = false;
    const fh = tokenHandler("test-token-v1", { calls, canFinish: () => ready });
    const host = boot({ plugins: [handlerPlugin("test-fh", fh)] });
    const u = uapi(host);
    const s = u.createSession(u.open(), "s");
    u.preserveFd(s, memfdWith(host, "memfd first"), 1n);
    u.preserveFd(s, u.installFile(new TokenFile(5n)), 2n);
    host.kexec(kernel("B", { plugins: [handlerPlugin("test-fh", fh)] }));
    const v = uapi(host);
    const s2 = v.retrieveSession(v.open(), "s");
    calls.length = 0;
    expectErrno(() => v.finishSession(s2), "EBUSY");
    expect(calls).toEqual([]);
    expect([...luo(host).core.sessions.incoming.values()].map((x) => x.files.count)).toEqual([2]);
    ready = true;
    v.finishSession(s2);
    expect(calls).toEqual(["finish 0"]);
    expect(luo(host).core.sessions.incoming.size).toBe(0);
  });

  it("checklist 40: a failed retrieve returns the same error every time without calling the handler again", () => {
    const calls: string[] = [];
    const plain = tokenHandler("test-token-v1");
    const host = boot({ plugins: [handlerPlugin("test-fh", plain)] });
    const u = uapi(host);
    u.preserveFd(u.createSession(u.open(), "s"), u.installFile(new TokenFile(9n)), 9n);
    const failing = tokenHandler("test-token-v1", { calls, retrieveFails: true });
    host.kexec(kernel("B", { plugins: [handlerPlugin("test-fh", failing)] }));
    const v = uapi(host);
    const s = v.retrieveSession(v.open(), "s");
    const first = expectErrno(() => v.retrieveFd(s, 9n), "EIO");
    const second = expectErrno(() => v.retrieveFd(s, 9n), "EIO");
    expect(second).toBe(first);
    expect(calls).toEqual(["retrieve"]);
    v.finishSession(s);
    expect(calls).toEqual(["retrieve", "finish -5"]);
  });

  it("checklist 41: only files of a handler linked to an FLB count; the count is serialised; unused FLBs not", () => {
    const events: string[] = [];
    const flb = (compatible: string): LiveupdateFlb => ({
      compatible,
      ops: {
        preserve: (a) => {
          events.push(`${compatible} preserve`);
          a.data = 0xabcn;
        },
        unpreserve: () => events.push(`${compatible} unpreserve`),
        retrieve: (a) => {
          events.push(`${compatible} retrieve ${a.data}`);
          a.obj = { from: a.data };
        },
        finish: () => events.push(`${compatible} finish`),
      },
    });
    const used = flb("test-flb-used-v1");
    const unused = flb("test-flb-unused-v1");
    const fh = tokenHandler("test-token-v1");
    const base = tokenHandler("test-other-v1");
    const other = { ...base, ops: { ...base.ops, canPreserve: () => false } };
    const withFlbs = (): AnyPlugin => ({
      name: "test-fh",
      dependsOn: ["luo"],
      setup(ctx) {
        const r = ctx.service(LUO_REGISTRY);
        r.registerFileHandler(fh);
        r.registerFlb(fh, used);
        r.registerFileHandler(other);
        r.registerFlb(other, unused);
        expect(() => r.registerFlb(fh, used)).toThrow(/already linked/);
      },
    });
    const host = boot({ plugins: [withFlbs()] });
    const u = uapi(host);
    const dev = u.open();
    const s = u.createSession(dev, "s");
    for (const t of [1n, 2n, 3n]) u.preserveFd(s, u.installFile(new TokenFile(t)), t);
    u.preserveFd(s, memfdWith(host, "not counted"), 4n);
    expect(luo(host).core.flbs.outgoingCount(used)).toBe(3);
    expect(events).toEqual(["test-flb-used-v1 preserve"]);
    expect(luo(host).core.flbs.outgoingCount(unused)).toBe(0);
    const page = luo(host).core.flbs.pagePa;
    host.kexec(kernel("B", { plugins: [withFlbs()] }));
    const mem = host.kernel.mem;
    expect(luo_flb_header_ser.readAt(mem, page)).toEqual({ pgcnt: 1n, count: 1n });
    expect(luo_flb_ser.readAt(mem, page + 16)).toEqual({ name: "test-flb-used-v1", data: 0xabcn, count: 3n });
    // The B.7 lifecycle: the first get seeds 3 and retrieves; three file finishes and the put end it.
    expect(host.context(luoPlugin).state.core.flbs.getIncoming(used)).toEqual({ from: 0xabcn });
    const v = uapi(host);
    const s2 = v.retrieveSession(v.open(), "s");
    for (const t of [1n, 2n, 3n]) v.retrieveFd(s2, t);
    v.finishSession(s2);
    expect(events.filter((e) => e.includes("finish"))).toEqual([]);
    luo(host).core.flbs.putIncoming(used);
    expect(events.slice(-2)).toEqual(["test-flb-used-v1 retrieve 2748", "test-flb-used-v1 finish"]);
  });

  it("checklist 41: an FLB whose last file is unpreserved before the reboot is not serialised", () => {
    const used: LiveupdateFlb = {
      compatible: "test-flb-v1",
      ops: { preserve: () => {}, unpreserve: () => {}, retrieve: () => {}, finish: () => {} },
    };
    const fh = tokenHandler("test-token-v1");
    const plugin: AnyPlugin = {
      name: "test-fh",
      dependsOn: ["luo"],
      setup(ctx) {
        ctx.service(LUO_REGISTRY).registerFileHandler(fh);
        ctx.service(LUO_REGISTRY).registerFlb(fh, used);
      },
    };
    const host = boot({ plugins: [plugin] });
    const u = uapi(host);
    const s = u.createSession(u.open(), "s");
    u.preserveFd(s, u.installFile(new TokenFile(1n)), 1n);
    u.close(s);
    const page = luo(host).core.flbs.pagePa;
    host.kexec(kernel("B"));
    expect(luo_flb_header_ser.readAt(host.kernel.mem, page).count).toBe(0n);
  });

  it('checklist 42: 64 name bytes without NUL and "" are EINVAL; a 63-char name works, GET_NAME returns it', () => {
    const host = boot();
    const u = uapi(host);
    const dev = u.open();
    expectErrno(() => u.createSession(dev, "a".repeat(64)), "EINVAL");
    expectErrno(() => u.createSession(dev, ""), "EINVAL");
    const name = "z".repeat(63);
    const s = u.createSession(dev, name);
    expect(u.getName(s)).toBe(name);
    host.kexec(kernel("B"));
    const v = uapi(host);
    expect(v.getName(v.retrieveSession(v.open(), name))).toBe(name);
  });

  it("checklist 43: PRESERVE_FD on a retrieved session, FINISH or RETRIEVE_FD on an outgoing one are EINVAL", () => {
    const host = boot();
    const u = uapi(host);
    const dev = u.open();
    const out = u.createSession(dev, "out");
    expectErrno(() => u.finishSession(out), "EINVAL");
    expectErrno(() => u.retrieveFd(out, 1n), "EINVAL");
    u.createSession(dev, "in");
    host.kexec(kernel("B"));
    const v = uapi(host);
    const got = v.retrieveSession(v.open(), "in");
    expectErrno(() => v.preserveFd(got, memfdWith(host, "x"), 1n), "EINVAL");
  });
});

describe("LUO registration and device errors", () => {
  it("a handler or FLB lacking an op, or an FLB on an unregistered handler, is EINVAL; duplicates EEXIST", () => {
    const host = boot();
    const core = luo(host).core;
    const fh = tokenHandler("test-token-v1");
    core.registerFileHandler(fh);
    expectErrno(() => core.registerFileHandler({ ...fh }), "EEXIST");
    const { finish: _f, ...partial } = fh.ops;
    expectErrno(
      () => core.registerFileHandler({ compatible: "x-v1", ops: partial as unknown as typeof fh.ops }),
      "EINVAL",
    );
    const flb = { compatible: "f-v1", ops: { preserve() {}, unpreserve() {}, retrieve() {} } };
    expectErrno(() => core.registerFlb(fh, flb as unknown as LiveupdateFlb), "EINVAL");
    expectErrno(
      () => core.registerFlb(tokenHandler("unregistered-v1"), { ...flb, ops: { ...flb.ops, finish() {} } }),
      "EINVAL",
    );
    const off = new LiveUpdateHost(machine());
    off.boot(kernel("A", { cmdline: "kho=on" }));
    expectErrno(() => luo(off).core.registerFileHandler(tokenHandler("y-v1")), "EOPNOTSUPP");
    expectErrno(() => uapi(off).open(), "ENOENT");
    expect(LUO_CMDLINE).toContain("liveupdate=on");
  });
});
