import { describe, expect, it } from "vitest";
import { LuoFileSet } from "../src/luo_file.js";
import { boot, expectErrno, handlerPlugin, luo, TokenFile, tokenHandler } from "./helpers.js";

const fh = tokenHandler("test-token-v1");

/** A file set of the running kernel, as a session's would be. */
function fileSet(): LuoFileSet {
  const core = luo(boot({ plugins: [handlerPlugin("test-fh", fh)] })).core;
  return new LuoFileSet(core.env, core.handlers, core.flbs);
}

describe("luo_retrieve_file finds a token as the kernel's list scan does, small set or large", () => {
  it("a token repeated in a handed-over chain resolves to its first entry, by list scan and by map", () => {
    // 3 and 31 files are scanned; from 32 on the set indexes its tokens.
    for (const n of [3, 31, 32, 33, 200]) {
      const set = fileSet();
      const entries = Array.from({ length: n }, (_, i) => ({
        at: 0x1000 + i * 64,
        compatible: fh.compatible,
        data: BigInt(1000 + i),
        token: i === n - 1 || i === 1 ? 7n : BigInt(100 + i),
      }));
      set.adopt(entries);
      expect(set.retrieve(7n)).toEqual(new TokenFile(1001n));
      expect(set.retrieve(100n)).toEqual(new TokenFile(1000n));
      expectErrno(() => set.retrieve(99n), "ENOENT");
    }
  });

  it("a token preserved twice in one session is EEXIST below and above the indexing size", () => {
    const set = fileSet();
    for (let i = 0; i < 40; i++) {
      set.preserve(BigInt(i), () => new TokenFile(BigInt(i)));
      expectErrno(() => set.preserve(BigInt(i), () => new TokenFile(999n)), "EEXIST");
    }
    set.unpreserveAll();
    set.preserve(5n, () => new TokenFile(5n));
    expect(set.count).toBe(1);
  });
});
