import { KHO_MAX_BLOCKS } from "@khosim/kho-core";
import { describe, expect, it } from "vitest";
import { boot, expectErrno, handlerPlugin, kernel, luo, TokenFile, tokenHandler, uapi } from "./helpers.js";

const fh = tokenHandler("test-token-v1");
const withHandler = { plugins: [handlerPlugin("test-fh", fh)] };

/** Sessions and files live in block chains: no fixed limit below the 10 000-block bound of a set. */
describe("LUO without fixed limits", () => {
  it("100 000 sessions survive a kexec, in order, with their names", () => {
    const host = boot();
    const u = uapi(host);
    const dev = u.open();
    for (let i = 0; i < 100_000; i++) u.createSession(dev, `session-${i}`);
    expect(luo(host).core.sessions.blocks.nblocks).toBe(Math.ceil(100_000 / 51));
    const r = host.kexec(kernel("B"));
    expect(r.outcome).toBe("running");
    const v = uapi(host);
    const dev2 = v.open();
    expect(luo(host).core.sessions.incoming.size).toBe(100_000);
    for (let i = 0; i < 100_000; i += 997)
      expect(v.getName(v.retrieveSession(dev2, `session-${i}`))).toBe(`session-${i}`);
    expect([...luo(host).core.sessions.incoming.keys()].at(-1)).toBe("session-99999");
  });

  it("a session with 100 000 files survives a kexec, every token and its data intact", () => {
    const host = boot(withHandler);
    const u = uapi(host);
    const s = u.createSession(u.open(), "big");
    for (let i = 0; i < 100_000; i++) u.preserveFd(s, u.installFile(new TokenFile(BigInt(i) * 3n)), BigInt(i));
    expect(luo(host).core.sessions.outgoing.get("big")!.files.blocks.nblocks).toBe(Math.ceil(100_000 / 63));
    expect(host.kexec(kernel("B", withHandler)).outcome).toBe("running");
    const v = uapi(host);
    const s2 = v.retrieveSession(v.open(), "big");
    for (let i = 0; i < 100_000; i += 1009) {
      const f = v.file(v.retrieveFd(s2, BigInt(i)));
      expect(f).toEqual(new TokenFile(BigInt(i) * 3n));
    }
    v.finishSession(s2);
    expect(luo(host).core.sessions.incoming.size).toBe(0);
  });

  it("the session set stops at 10 000 blocks: session 510 000 fits, the next one is ENOSPC and changes nothing", () => {
    const host = boot();
    const sessions = luo(host).core.sessions;
    const cpb = sessions.blocks.countPerBlock;
    expect(cpb).toBe(51);
    for (let i = 0; i < KHO_MAX_BLOCKS * cpb; i++) sessions.create(`s${i}`);
    expect(sessions.blocks.nblocks).toBe(KHO_MAX_BLOCKS);
    const preserved = host.kernel.out!.preserved().length;
    expectErrno(() => uapi(host).createSession(uapi(host).open(), "one-too-many"), "ENOSPC");
    expect(sessions.outgoing.size).toBe(KHO_MAX_BLOCKS * cpb);
    expect(host.kernel.out!.preserved().length).toBe(preserved);
  });
});
