import { composeKernel, definePlugin, formatReport, LiveUpdateHost } from "@khosim/kho-core";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { describe, expect, it } from "vitest";
import { counter_ser, counterPlugin } from "../src/index.js";
import { counter, counterLog, kernel, memoryDigest, pattern, smallMachine } from "./helpers.js";

/** counter_ser as its declaration lays it out, built by hand: 16 + 8 + 8 + 4 bytes, packed, little-endian. */
function expectedV1(count: bigint, bufPa: number, bufLen: number): Uint8Array {
  const b = new Uint8Array(36);
  const v = new DataView(b.buffer);
  b.set(new TextEncoder().encode("counter-v1"), 0);
  v.setBigUint64(16, count, true);
  v.setBigUint64(24, BigInt(bufPa), true);
  v.setUint32(32, bufLen, true);
  return b;
}

describe("counter plugin: cold boot, then kexecs", () => {
  it("is a packed 36-byte struct with the declared offsets", () => {
    expect(counter_ser.size).toBe(36);
    expect(counter_ser.members.map((m) => [m.name, m.offset])).toEqual([
      ["compatible", 0],
      ["count", 16],
      ["buf_pa", 24],
      ["buf_len", 32],
    ]);
  });

  it("keeps the count and the buffer bit-identical through A -> B -> C", () => {
    const host = new LiveUpdateHost(smallMachine());
    host.boot(kernel("A"));
    const a = counter(host);
    expect(a.writes).toBe("counter-v1");
    expect([...host.kernel.out!.subFdts.keys()]).toEqual(["kexec-metadata", "counter"]);
    for (let i = 0; i < 3; i++) a.increment();
    const first = pattern(10_000, 7); // three pages: an order-2 folio
    a.write(first);

    const toB = host.kexec(kernel("B"));
    expect(toB.outcome).toBe("running");
    expect(toB.to).toMatchObject({ release: "B", bootKind: "kho" });
    const b = counter(host);
    expect(b).not.toBe(a); // per-kernel state
    expect(b.count).toBe(3n);
    expect(b.bytes()).toEqual(first);
    // The counter reads its blob at early_initcall, kexec-metadata inside kho_init (fs_initcall).
    expect(toB.subtrees.restored.map((s) => [s.name, s.plugin, s.compatible])).toEqual([
      ["counter", "counter", "counter-v1"],
      ["kexec-metadata", "kexec-metadata", "kexec-metadata-v1"],
    ]);
    expect(toB.subtrees.refused).toEqual([]);
    expect(toB.subtrees.lost).toEqual([]);
    expect(toB.anomalies).toEqual([]);
    // 73 bytes of kexec-metadata, 36 of the blob, 10 000 of buffer.
    expect(toB.verified.pluginBytes).toBe(73 + 36 + 10_000);
    expect(toB.verified.mismatches).toBe(0);
    // The blob page (order 0) and the buffer folio (order 2), attributed to the plugin.
    expect(toB.preserved.byOwner.counter).toBe(1 + 4);
    expect(counterLog(host)).toContain("restored count 3 and a 10000-byte buffer from counter-v1");
    expect(formatReport(toB)).toMatch(/counter \(counter-v1\) by counter, 36 bytes at 0x/);

    // The outgoing blob as kernel A wrote it, byte for byte.
    const incoming = b.incoming!;
    expect(host.kernel.mem.read(incoming.serPa, 36)).toEqual(expectedV1(3n, incoming.folio!.pa, 10_000));

    b.increment(39n);
    b.write("second kernel");
    const toC = host.kexec(kernel("C"));
    expect(toC.outcome).toBe("running");
    expect(counter(host).count).toBe(42n);
    expect(counter(host).text()).toBe("second kernel");
    expect(host.kernel.log.lines.map((l) => l.prefix + l.text)).toContain("KHO: exec from: B (count 2)");
  });

  it("hands over an empty buffer as buf_pa 0, buf_len 0", () => {
    const host = new LiveUpdateHost(smallMachine());
    host.boot(kernel("A"));
    counter(host).increment(5n);
    const r = host.kexec(kernel("B"));
    expect(counter(host).count).toBe(5n);
    expect(counter(host).bytes()).toEqual(new Uint8Array(0));
    expect(counter(host).incoming!.folio).toBeNull();
    expect(host.kernel.mem.read(counter(host).incoming!.serPa, 36)).toEqual(expectedV1(5n, 0, 0));
    expect(r.preserved.byOwner.counter).toBe(1);
  });

  it("the count is a u64: it wraps at 2^64 and survives as such", () => {
    const host = new LiveUpdateHost(smallMachine());
    host.boot(kernel("A"));
    counter(host).increment((1n << 64n) - 1n);
    expect(counter(host).increment(2n)).toBe(1n);
    counter(host).increment((1n << 64n) - 2n);
    host.kexec(kernel("B"));
    expect(counter(host).count).toBe((1n << 64n) - 1n);
  });

  it("finish frees the blob page and the unclaimed folio; a claimed folio is left to the workload", () => {
    const host = new LiveUpdateHost(smallMachine());
    host.boot(kernel("A"));
    counter(host).write(pattern(5000, 3));
    host.kexec(kernel("B"));
    const inc = counter(host).incoming!;
    const folio = inc.folio!;
    expect(folio.order).toBe(1);
    expect(host.kernel.alloc.isFree(folio.pa)).toBe(false);
    host.finish();
    expect(host.kernel.alloc.isFree(folio.pa)).toBe(true);
    expect(host.kernel.alloc.isFree(inc.serPa)).toBe(true);
    expect(counterLog(host)).toContain("released the counter-v1 blob and the buffer folio");
    expect(counter(host).claimBuffer()).toBeNull(); // too late: finish released it

    counter(host).write(pattern(5000, 4));
    host.kexec(kernel("C"));
    const claimed = counter(host).claimBuffer();
    expect(claimed).toEqual(counter(host).incoming!.folio);
    expect(host.kernel.mem.read(claimed!.pa, 5000)).toEqual(pattern(5000, 4));
    host.finish();
    expect(host.kernel.alloc.isFree(claimed!.pa)).toBe(false);
    expect(host.kernel.alloc.isFree(counter(host).incoming!.serPa)).toBe(true);
    expect(counterLog(host)).toContain("released the counter-v1 blob (buffer folio claimed)");
  });

  it("a kernel without the plugin leaves the subtree orphaned, reported with its size", () => {
    const host = new LiveUpdateHost(smallMachine());
    host.boot(kernel("A"));
    counter(host).increment();
    const r = host.kexec(composeKernel({ release: "B", plugins: [kexecMetadataPlugin] }));
    expect(r.outcome).toBe("running");
    expect(r.subtrees.orphaned).toEqual([expect.objectContaining({ name: "counter", size: 36 })]);
  });
});

describe("counter plugin: prepare and abort", () => {
  it("a buffer no folio can hold fails prepare: the kexec aborts, every byte of the old kernel's memory stays", () => {
    const host = new LiveUpdateHost(smallMachine());
    host.boot(kernel("A"));
    const a = counter(host);
    a.increment(7n);
    a.write(new Uint8Array(8 << 20)); // 8 MiB: order 11 > MAX_PAGE_ORDER 10 on 4 KiB pages
    const before = memoryDigest(host.kernel.mem);
    const preserved = host.kernel.out!.preserved();
    const old = host.kernel;

    const r = host.kexec(kernel("B"));
    expect(r.outcome).toBe("aborted");
    expect(r.to).toBeNull();
    expect(r.abortedBy).toEqual({ plugin: "counter", reason: expect.stringContaining("MAX_PAGE_ORDER") });
    expect(formatReport(r)).toContain("prepare of counter failed");
    expect(host.kernel).toBe(old);
    expect(host.kernel.state).toBe("running");
    expect(host.machine.handovers).toHaveLength(0);
    expect(memoryDigest(host.kernel.mem)).toEqual(before);
    expect(host.kernel.out!.preserved()).toEqual(preserved);
    expect(a.frozen).toBe(false);

    // The workload fixes the buffer and the next attempt goes through.
    a.write("small again");
    expect(host.kexec(kernel("B")).outcome).toBe("running");
    expect(counter(host).count).toBe(7n);
    expect(counter(host).text()).toBe("small again");
  });

  it("a later plugin's failing prepare makes the counter undo its own: blob bytes, folio, freeze", () => {
    const failing = definePlugin({
      name: "fails-late",
      dependsOn: ["counter"],
      outgoing: {
        prepare() {
          throw new Error("not today");
        },
      },
    });
    const host = new LiveUpdateHost(smallMachine());
    host.boot(kernel("A"));
    host.kexec(kernel("B", { extra: [failing] })); // run the abort in a KHO-booted kernel, with poisoned memory around
    const b = counter(host);
    b.increment(2n);
    b.write(pattern(20_000, 9));
    host.finish();
    const before = memoryDigest(host.kernel.mem);
    const preserved = host.kernel.out!.preserved();
    const freeBefore = host.kernel.alloc.freePages;
    const nodesBefore = host.kernel.out!.tree.nodePagePAs();

    const r = host.kexec(kernel("C"));
    expect(r.outcome).toBe("aborted");
    expect(r.abortedBy).toEqual({ plugin: "fails-late", reason: "not today" });
    expect(r.log).toContain("counter: kexec aborted: buffer folio released, counter thawed");
    expect(host.kernel.out!.preserved()).toEqual(preserved);
    expect(b.frozen).toBe(false);

    // The one trace an undone preservation leaves: kho_radix_del_page never
    // frees node pages, so the tree may keep nodes the folio's key needed.
    // Every other page, the blob and the scrubbed folio included, is as before.
    const nodes = new Set(host.kernel.out!.tree.nodePagePAs().map((pa) => pa / host.kernel.mem.pageSize));
    const after = memoryDigest(host.kernel.mem);
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter(
      (pfn) => before.get(pfn) !== after.get(pfn),
    );
    expect(changed.filter((pfn) => !nodes.has(pfn))).toEqual([]);
    expect(host.kernel.alloc.freePages).toBe(freeBefore - (nodes.size - nodesBefore.length));
    expect(b.increment()).toBe(3n);
  });

  it("a prepared counter is frozen: changes between prepare and the jump are refused", () => {
    let seen: unknown = null;
    const poke = definePlugin({
      name: "poke",
      dependsOn: ["counter"],
      outgoing: {
        prepare() {
          try {
            counter(host).increment();
          } catch (e) {
            seen = e;
          }
        },
      },
    });
    const host = new LiveUpdateHost(smallMachine());
    host.boot(kernel("A", { extra: [poke] }));
    host.kexec(kernel("B"));
    expect(seen).toMatchObject({ code: "EBUSY" });
    expect(counter(host).count).toBe(0n);
  });

  it("plugin state is per kernel: the context of a gone kernel's plugin is not reachable", () => {
    const host = new LiveUpdateHost(smallMachine());
    host.boot(kernel("A"));
    const a = host.context(counterPlugin);
    host.kexec(kernel("B"));
    expect(host.context(counterPlugin)).not.toBe(a);
  });
});
