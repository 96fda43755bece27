import { PhysMem } from "@khosim/kho-core/mem";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { luo_file_ser } from "../src/abi/index.js";
import { LuoFileSet } from "../src/luo_file.js";
import { readFileEntryWords, u64Of } from "../src/luo_file_ser.js";
import { boot, expectErrno, handlerPlugin, luo, TokenFile, tokenHandler, uapi } from "./helpers.js";

const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
/** A token no generated entry carries. */
const ABSENT = 12345n;

describe("handed-over files kept as columns behave as luo_file.c's records", () => {
  it("readFileEntryWords gives the token and data the ABI codec encodes, as u32 halves", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 63 }), u64, u64, (slot, data, token) => {
        const mem = new PhysMem(4096, [{ start: 0, size: 1 << 16, nid: 0 }]);
        const pa = 4096 + slot * luo_file_ser.size;
        mem.write(pa, luo_file_ser.encode({ compatible: "x-v1", data, token }));
        const w = new Uint32Array(4);
        expect(readFileEntryWords(mem, pa, w)).toBe("x-v1");
        expect([u64Of(w[0]!, w[1]!), u64Of(w[2]!, w[3]!)]).toEqual([token, data]);
      }),
    );
  });

  it("luo_retrieve_file returns the first entry's file for every token, below and above the token index", () => {
    const calls: string[] = [];
    const fh = tokenHandler("col-token-v1", { calls });
    const core = luo(boot({ plugins: [handlerPlugin("col-fh", fh)] })).core;
    // Tokens from a small pool so that chains repeat them; sizes on both sides of the 32-file index.
    const token = fc.oneof(fc.constantFrom(0n, 2n ** 32n, 2n ** 64n - 1n), u64).filter((t) => t !== ABSENT);
    const entry = fc.record({ token, data: u64 });
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 70 }), (list) => {
        const set = new LuoFileSet(core.env, core.handlers, core.flbs);
        set.adopt(list.map((e, k) => ({ at: 0x1000 + 64 * k, compatible: fh.compatible, ...e })));
        expect(set.count).toBe(list.length);
        const first = new Map<bigint, bigint>();
        for (const e of list) if (!first.has(e.token)) first.set(e.token, e.data);
        for (const [token, data] of first) {
          const file = set.retrieve(token);
          expect(file).toEqual(new TokenFile(data));
          // A retrieved file is returned again, the same object, without calling the handler.
          expect(set.retrieve(token)).toBe(file);
        }
        expectErrno(() => set.retrieve(ABSENT), "ENOENT");
        const records = set.handedOver;
        expect(records.map((f) => [f.token, f.serializedData])).toEqual(list.map((e) => [e.token, e.data]));
        expect(records.map((f) => f.retrieveStatus)).toEqual(
          list.map((e, k) => (list.findIndex((o) => o.token === e.token) === k ? 1 : 0)),
        );
        calls.length = 0;
        set.finish();
        expect(calls).toEqual(list.map((_, k) => `finish ${records[list.length - 1 - k]!.retrieveStatus}`));
        expect(set.count).toBe(0);
        expect(set.handedOver).toHaveLength(list.length);
      }),
      { numRuns: 40 },
    );
  });

  it("a token outside u64 matches no entry, even one holding its low 64 bits", () => {
    const fh = tokenHandler("col-wide-v1");
    const core = luo(boot({ plugins: [handlerPlugin("col-wide", fh)] })).core;
    const set = new LuoFileSet(core.env, core.handlers, core.flbs);
    set.adopt([{ at: 0x1000, compatible: fh.compatible, token: 5n, data: 6n }]);
    for (const t of [2n ** 64n + 5n, -(2n ** 64n) + 5n, 5n - 2n ** 32n]) expectErrno(() => set.retrieve(t), "ENOENT");
    expect(set.retrieve(5n)).toEqual(new TokenFile(6n));
  });

  it("a failed retrieve is kept by entry: the same error again, the handler not called again", () => {
    const calls: string[] = [];
    const fh = tokenHandler("col-fail-v1", { calls, retrieveFails: true });
    const core = luo(boot({ plugins: [handlerPlugin("col-fail", fh)] })).core;
    const set = new LuoFileSet(core.env, core.handlers, core.flbs);
    set.adopt([{ at: 0x1000, compatible: fh.compatible, token: 5n, data: 6n }]);
    const e = expectErrno(() => set.retrieve(5n), "EIO");
    expect(expectErrno(() => set.retrieve(5n), "EIO")).toBe(e);
    expect(calls).toEqual(["retrieve"]);
    expect(set.handedOver[0]).toMatchObject({ retrieveStatus: e.errno, retrieveError: e });
  });

  it("a file set is handed over once", () => {
    const fh = tokenHandler("col-once-v1");
    const core = luo(boot({ plugins: [handlerPlugin("col-once", fh)] })).core;
    const set = new LuoFileSet(core.env, core.handlers, core.flbs);
    const entries = [{ at: 0x1000, compatible: fh.compatible, token: 1n, data: 2n }];
    set.adopt(entries);
    expectErrno(() => set.adopt(entries), "EEXIST");
  });
});

describe("the fd table as kinds and targets", () => {
  it("a closed fd is EBADF everywhere; a file fd has no LUO ioctls; a device fd is not a file", () => {
    const u = uapi(boot({ plugins: [handlerPlugin("fd-fh", tokenHandler("fd-token-v1"))] }));
    const dev = u.open();
    const s = u.createSession(dev, "s");
    const f = u.installFile(new TokenFile(1n));
    u.preserveFd(s, f, 9n);
    expect(u.file(f)).toEqual(new TokenFile(1n));
    expect(u.getName(s)).toBe("s");
    expectErrno(() => u.file(dev), "EBADF");
    expectErrno(() => u.getName(f), "ENOTTY");
    expectErrno(() => u.ioctl(f, 0, new Uint8Array(8)), "ENOTTY");
    u.close(f);
    expectErrno(() => u.file(f), "EBADF");
    expectErrno(() => u.preserveFd(s, f, 10n), "EBADF");
    u.close(s);
    expectErrno(() => u.getName(s), "EBADF");
    expectErrno(() => u.close(s), "EBADF");
  });
});
