import { isKhoError, LiveUpdateHost } from "@khosim/kho-core";
import { describe, expect, it } from "vitest";
import { hugetlbSamplePlugin } from "../src/index.js";
import { hugetlb, kernel, machine } from "./helpers.js";

function errno(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isKhoError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe("huge page pools", () => {
  it("allocate is all or nothing: a node that runs out gives back what the call took (ENOMEM)", () => {
    const host = new LiveUpdateHost(machine("4KiB"));
    host.boot(kernel("A"));
    const st = hugetlb(host);
    const free = host.kernel.alloc.freePages;
    expect(errno(() => st.allocate({ size: "1GiB", count: 5, node: 1, owner: 1n }))).toBe("ENOMEM");
    expect(host.kernel.alloc.freePages).toBe(free);
    expect(st.pools.size).toBe(0);
    const got = st.allocate({ size: "1GiB", count: 2, node: 1, owner: 1n });
    expect(got.map((f) => host.kernel.mem.nidOf(f.pa / 4096))).toEqual([1, 1]);
    expect(st.pools.counts()).toEqual([
      { order: 9, bytes: 2 ** 21, folios: 0, byNode: {} },
      { order: 18, bytes: 2 ** 30, folios: 2, byNode: { 1: 2 } },
    ]);
  });

  it("refuses bad requests with typed errors and frees only what it holds", () => {
    const host = new LiveUpdateHost(machine("4KiB"));
    host.boot(kernel("A"));
    const st = hugetlb(host);
    expect(errno(() => st.allocate({ size: "2MiB", count: 0 }))).toBe("EINVAL");
    expect(errno(() => st.allocate({ size: "2MiB", count: 1, node: 7 }))).toBe("EINVAL");
    expect(errno(() => st.allocate({ size: "3MiB", count: 1 }))).toBe("EINVAL");
    expect(errno(() => st.allocate({ size: "2MiB", count: 1, owner: 1n << 64n }))).toBe("ERANGE");
    expect(errno(() => st.free(0x40000000))).toBe("ENOENT");
    const [f] = st.allocate({ size: "2MiB", count: 1, owner: 4n });
    expect(st.freeOwner(4n)).toBe(1);
    expect(host.kernel.alloc.isFree(f!.pa)).toBe(true);
  });

  it("is frozen between a successful prepare and the kexec or an abort (EBUSY)", () => {
    const host = new LiveUpdateHost(machine("4KiB"));
    host.boot(kernel("A"));
    const ctx = host.context(hugetlbSamplePlugin);
    ctx.state.allocate({ size: "2MiB", count: 1 });
    hugetlbSamplePlugin.outgoing!.prepare!(ctx);
    expect(ctx.state.frozen).toBe(true);
    expect(errno(() => ctx.state.allocate({ size: "2MiB", count: 1 }))).toBe("EBUSY");
    expect(errno(() => ctx.state.freeOwner(0n))).toBe("EBUSY");
    hugetlbSamplePlugin.outgoing!.abort!(ctx);
    expect(ctx.state.frozen).toBe(false);
    expect(ctx.state.freeOwner(0n)).toBe(1);
  });
});
