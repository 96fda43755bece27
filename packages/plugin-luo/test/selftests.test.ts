import { describe, expect, it } from "vitest";
import { boot, expectErrno, kernel, luo, memfdText, memfdWith, PlainFile, uapi } from "./helpers.js";

/**
 * Ports of tools/testing/selftests/liveupdate: the kexec tests run both
 * stages across one simulated kexec, the others in one kernel.
 */
describe("selftests/liveupdate across a kexec", () => {
  it("luo_kexec_simple: one session, one memfd (token 0x1A) survives, is retrieved, verified, finished", () => {
    const host = boot();
    const u = uapi(host);
    const dev = u.open();
    const s = u.createSession(dev, "test-session");
    u.preserveFd(s, memfdWith(host, "hello kexec world"), 0x1an);
    const r = host.kexec(kernel("B"));
    expect(r.outcome).toBe("running");
    expect(r.log).toContain("luo: Retrieved live update data, liveupdate number: 1");
    const v = uapi(host);
    const dev2 = v.open();
    const s2 = v.retrieveSession(dev2, "test-session");
    expect(memfdText(host, v.retrieveFd(s2, 0x1an))).toBe("hello kexec world");
    v.finishSession(s2);
    expect(r.anomalies).toEqual([]);
  });

  it("luo_multi_session: two empty sessions, one with one memfd, one with two; all retrieved and finished", () => {
    const host = boot();
    const u = uapi(host);
    const dev = u.open();
    u.createSession(dev, "multi-test-empty-1");
    u.createSession(dev, "multi-test-empty-2");
    const one = u.createSession(dev, "multi-test-files-1");
    u.preserveFd(one, memfdWith(host, "session 1, file 1"), 0x1001n);
    const two = u.createSession(dev, "multi-test-files-2");
    u.preserveFd(two, memfdWith(host, "session 2, file 1"), 0x2002n);
    u.preserveFd(two, memfdWith(host, "session 2, file 2"), 0x3003n);
    host.kexec(kernel("B"));
    const v = uapi(host);
    const dev2 = v.open();
    for (const name of ["multi-test-empty-1", "multi-test-empty-2"]) v.finishSession(v.retrieveSession(dev2, name));
    const one2 = v.retrieveSession(dev2, "multi-test-files-1");
    expect(memfdText(host, v.retrieveFd(one2, 0x1001n))).toBe("session 1, file 1");
    const two2 = v.retrieveSession(dev2, "multi-test-files-2");
    expect(memfdText(host, v.retrieveFd(two2, 0x2002n))).toBe("session 2, file 1");
    expect(memfdText(host, v.retrieveFd(two2, 0x3003n))).toBe("session 2, file 2");
    v.finishSession(one2);
    v.finishSession(two2);
  });

  it("luo_stress_sessions: 2000 sessions survive the kexec, each retrieved and finished", () => {
    const host = boot();
    const u = uapi(host);
    const dev = u.open();
    for (let i = 0; i < 2000; i++) u.createSession(dev, `stress-session-${i}`);
    host.kexec(kernel("B"));
    const v = uapi(host);
    const dev2 = v.open();
    for (let i = 0; i < 2000; i++) v.finishSession(v.retrieveSession(dev2, `stress-session-${i}`));
    expectErrno(() => v.retrieveSession(dev2, "stress-session-0"), "ENOENT");
  });

  it('luo_stress_files: 500 memfds (tokens 0..499, "file-data-i") survive the kexec', () => {
    const host = boot();
    const u = uapi(host);
    const s = u.createSession(u.open(), "stress-files");
    for (let i = 0; i < 500; i++) u.preserveFd(s, memfdWith(host, `file-data-${i}`), BigInt(i));
    host.kexec(kernel("B"));
    const v = uapi(host);
    const s2 = v.retrieveSession(v.open(), "stress-files");
    for (let i = 0; i < 500; i++) expect(memfdText(host, v.retrieveFd(s2, BigInt(i)))).toBe(`file-data-${i}`);
    v.finishSession(s2);
  });
});

describe("selftests/liveupdate without a reboot", () => {
  it("open/close; a second concurrent open is EBUSY", () => {
    const u = uapi(boot());
    const dev = u.open();
    expectErrno(() => u.open(), "EBUSY");
    u.close(dev);
    u.close(u.open());
  });

  it("a duplicate session name is EEXIST; distinct names succeed", () => {
    const u = uapi(boot());
    const dev = u.open();
    u.createSession(dev, "a");
    u.createSession(dev, "b");
    expectErrno(() => u.createSession(dev, "a"), "EEXIST");
  });

  it("a preserved memfd (token 0x1234) can still be read and written; two memfds in one session", () => {
    const host = boot();
    const u = uapi(host);
    const s = u.createSession(u.open(), "s");
    const fd = memfdWith(host, "still readable");
    u.preserveFd(s, fd, 0x1234n);
    expect(memfdText(host, fd)).toBe("still readable");
    u.preserveFd(s, memfdWith(host, "second"), 0x1235n);
  });

  it("two sessions, with data and with empty memfds", () => {
    const host = boot();
    const u = uapi(host);
    const dev = u.open();
    u.preserveFd(u.createSession(dev, "data"), memfdWith(host, "data"), 1n);
    u.preserveFd(u.createSession(dev, "empty"), memfdWith(host, ""), 1n);
    host.kexec(kernel("B"));
    const v = uapi(host);
    const dev2 = v.open();
    expect(memfdText(host, v.retrieveFd(v.retrieveSession(dev2, "data"), 1n))).toBe("data");
    expect(memfdText(host, v.retrieveFd(v.retrieveSession(dev2, "empty"), 1n))).toBe("");
  });

  it("preserving a file no handler takes (/dev/null) is ENOENT", () => {
    const u = uapi(boot());
    const s = u.createSession(u.open(), "s");
    expectErrno(() => u.preserveFd(s, u.installFile(new PlainFile("/dev/null")), 1n), "ENOENT");
  });

  it("the same memfd in a second session, or with a second token, is EBUSY", () => {
    const host = boot();
    const u = uapi(host);
    const dev = u.open();
    const s1 = u.createSession(dev, "one");
    const s2 = u.createSession(dev, "two");
    const fd = memfdWith(host, "x");
    u.preserveFd(s1, fd, 1n);
    expectErrno(() => u.preserveFd(s1, fd, 2n), "EBUSY");
    expectErrno(() => u.preserveFd(s2, fd, 1n), "EBUSY");
  });

  it("64 name bytes without NUL and the empty name are EINVAL; GET_NAME returns a 63-character name", () => {
    const u = uapi(boot());
    const dev = u.open();
    expectErrno(() => u.createSession(dev, "x".repeat(64)), "EINVAL");
    expectErrno(() => u.createSession(dev, ""), "EINVAL");
    const name = "n".repeat(63);
    expect(u.getName(u.createSession(dev, name))).toBe(name);
  });

  it("2000 sessions created and closed; 500 memfds preserved in one session and closed", () => {
    const host = boot();
    const u = uapi(host);
    const dev = u.open();
    const before = host.kernel.out!.preserved().length;
    const fds = Array.from({ length: 2000 }, (_, i) => u.createSession(dev, `s${i}`));
    expect(luo(host).core.sessions.blocks.nblocks).toBe(Math.ceil(2000 / 51));
    for (const fd of fds) u.close(fd);
    const s = u.createSession(dev, "files");
    for (let i = 0; i < 500; i++) u.preserveFd(s, memfdWith(host, `file-data-${i}`), BigInt(i));
    expect(host.kernel.out!.preserved().length).toBeGreaterThan(before + 1000);
    u.close(s);
    // Every block, memfd struct, folio and folio array is unpreserved again.
    expect(host.kernel.out!.preserved().length).toBe(before);
    expect(luo(host).core.sessions.blocks.nblocks).toBe(0);
  });
});
