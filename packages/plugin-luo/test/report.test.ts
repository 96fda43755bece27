import { describe, expect, it } from "vitest";
import { boot, expectErrno, handlerPlugin, kernel, luo, memfdWith, TokenFile, tokenHandler, uapi } from "./helpers.js";

describe("LUO hand-over report", () => {
  it("names every handed-over session and file: restored, lost with the reason, and the owning handler", () => {
    const ok = tokenHandler("test-token-v1");
    const host = boot({ plugins: [handlerPlugin("test-fh", ok)] });
    const u = uapi(host);
    const dev = u.open();
    const a = u.createSession(dev, "a");
    u.preserveFd(a, memfdWith(host, "kept"), 1n);
    u.preserveFd(a, u.installFile(new TokenFile(2n)), 2n);
    u.createSession(dev, "untouched");
    const failing = tokenHandler("test-token-v1", { retrieveFails: true });
    host.kexec(kernel("B", { plugins: [handlerPlugin("test-fh", failing)] }));
    expect(luo(host).handover()).toEqual({ liveupdateNum: "1", deserialized: false, sessions: [] });
    const v = uapi(host);
    const s = v.retrieveSession(v.open(), "a");
    v.retrieveFd(s, 1n);
    expectErrno(() => v.retrieveFd(s, 2n), "EIO");
    expect(luo(host).handover(true)).toEqual({
      liveupdateNum: "1",
      deserialized: true,
      sessions: [
        {
          name: "a",
          status: "restored",
          finished: false,
          files: [
            { token: "0x1", handler: "memfd-v2", status: "restored" },
            { token: "0x2", handler: "test-token-v1", status: "lost", reason: "retrieve refused" },
          ],
        },
        { name: "untouched", status: "lost", finished: false, reason: "not finished before the next kexec", files: [] },
      ],
    });
  });

  it("a session this kernel cannot deserialise is refused with the reason", () => {
    const host = boot({ plugins: [handlerPlugin("test-fh", tokenHandler("test-token-v1"))] });
    const u = uapi(host);
    u.preserveFd(u.createSession(u.open(), "a"), u.installFile(new TokenFile(2n)), 2n);
    host.kexec(kernel("B"));
    expectErrno(() => uapi(host).open(), "EIO");
    const r = luo(host).handover();
    expect(r.error).toMatch(/^no file handler "test-token-v1"/);
    expect(r.sessions).toEqual([expect.objectContaining({ name: "a", status: "refused", reason: r.error })]);
  });
});
