import { definePlugin, isKhoError, LiveUpdateHost } from "@khosim/kho-core";
import { describe, expect, it } from "vitest";
import { hugetlbSampleActions, hugetlbSamplePlugin } from "../src/index.js";
import { hugetlb, kernel, machine } from "./helpers.js";

const MiB = 2 ** 20;

/** Writes one byte at `at` in the next kernel's early boot, before the host compares preserved pages. */
const scribbler = (at: number) =>
  definePlugin({
    name: "scribbler",
    incoming: {
      early(ctx) {
        ctx.mem.writeU8(at, ctx.mem.readU8(at) ^ 1);
      },
    },
  });

describe("contents of the folios", () => {
  it("a byte changed across the kexec is a corruption anomaly of the host and a mismatch of verify", () => {
    const host = new LiveUpdateHost(machine("4KiB"));
    host.boot(kernel("A"));
    const a = hugetlb(host);
    const folios = a.allocate({ size: "2MiB", count: 4, node: 0, owner: 5n });
    a.fill(5n, 77);
    const at = folios[2]!.pa + 3 * 4096 + 17;
    const r = host.kexec(kernel("B", { extra: [scribbler(at)] }));
    expect(r.verified.mismatches).toBe(1);
    expect(r.anomalies).toEqual([
      expect.objectContaining({ kind: "corruption", address: `0x${(at - 17).toString(16)}` }),
    ]);
    // Everything else the fill covers was counted as identical, without reading 8 MiB into the host.
    expect(r.verified.bytes).toBeGreaterThanOrEqual(8 * MiB - 4096);
    expect(host.kernel.mem.populatedPages).toBeLessThan(64);
    const check = hugetlb(host).verify(5n, 77);
    expect(check).toMatchObject({ folios: 4, bytes: 8 * MiB, mismatchedFolios: 1 });
    expect(check.mismatches).toEqual([`0x${(at - 17).toString(16)}`]);
  });

  it("verify catches a folio swapped with another one (same data, wrong address)", () => {
    const host = new LiveUpdateHost(machine("4KiB"));
    host.boot(kernel("A"));
    const a = hugetlb(host);
    const [x, y] = a.allocate({ size: "2MiB", count: 2, node: 1, owner: 1n });
    a.fill(1n, 5);
    const mem = host.kernel.mem;
    const first = mem.read(x!.pa, 4096);
    mem.write(x!.pa, mem.read(y!.pa, 4096));
    mem.write(y!.pa, first);
    expect(a.verify(1n, 5).mismatches).toEqual([`0x${x!.pa.toString(16)}`, `0x${y!.pa.toString(16)}`]);
  });
});

describe("scenario actions", () => {
  it("run the workload with zod-checked arguments: allocate, fill, verify across a kexec, free", () => {
    const host = new LiveUpdateHost(machine("4KiB"));
    host.boot(kernel("A"));
    const run = (name: keyof typeof hugetlbSampleActions, raw: unknown) => {
      const act = hugetlbSampleActions[name];
      const args = act.args.parse(raw);
      // Each action's run takes its own schema's output; the union of them is what parse returned.
      (act.run as (ctx: unknown, a: unknown) => void)(host.context(hugetlbSamplePlugin), args);
    };
    run("allocate", { size: "1GiB", count: 1, node: 1, owner: "0xffffffffffffffff", pinned: true });
    run("allocate", { size: 2 * MiB, count: 3, owner: 12 });
    run("fill", { owner: 12, seed: 99 });
    run("fill", { owner: "18446744073709551615", seed: 0 });
    host.kexec(kernel("B"));
    run("verify", { owner: 12, seed: 99 });
    expect(host.context(hugetlbSamplePlugin).state.pools.ofOwner(2n ** 64n - 1n)).toHaveLength(1);
    let err: unknown;
    try {
      run("verify", { owner: 12, seed: 98 });
    } catch (e) {
      err = e;
    }
    expect(isKhoError(err, "EIO")).toBe(true);
    expect((err as Error).message).toMatch(/^3 of 3 folios of owner 12 differ, first at 0x/);
    run("free", { owner: 12 });
    expect(hugetlb(host).pools.size).toBe(1);
    for (const [name, raw] of [
      ["allocate", { size: "2MiB", count: 0 }],
      ["allocate", { size: "2MiB", count: 1, color: "red" }],
      ["fill", { owner: -1, seed: 1 }],
      ["fill", { owner: "0x10000000000000000", seed: 1 }],
      ["verify", { owner: 1, seed: 2 ** 32 }],
    ] as const)
      expect(hugetlbSampleActions[name].args.safeParse(raw).success, JSON.stringify(raw)).toBe(false);
    // A size that is no huge page size of this kernel is the pool's EINVAL, not a crash.
    expect(() => run("allocate", { size: "4MiB", count: 1 })).toThrowError(/no 0x400000-byte huge pages/);
  });
});
