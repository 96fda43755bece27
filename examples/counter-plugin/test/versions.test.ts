import { spawnSync } from "node:child_process";
import { composeKernel, definePlugin, formatReport, LiveUpdateHost } from "@khosim/kho-core";
import { generateCHeader } from "@khosim/kho-core/abi";
import { describe, expect, it } from "vitest";
import { counter_ser_v2, counterPlugin, counterV1, counterV2, identifyCounter } from "../src/index.js";
import { counter, counterLog, kernel, pattern, smallMachine, V2_ONLY, V2_READS_V1 } from "./helpers.js";

describe("counter plugin: ABI versions and pins", () => {
  it("identify reads the compatible slot, and nothing it cannot read cleanly", () => {
    const blob = new Uint8Array(40);
    blob.set(new TextEncoder().encode("counter-v2"));
    expect(identifyCounter(blob)).toBe("counter-v2");
    expect(identifyCounter(blob.subarray(0, 15))).toBeNull(); // shorter than the slot
    blob[12] = 0x41; // a stray byte after the NUL: not what a writer leaves
    expect(identifyCounter(blob)).toBeNull();
    expect(identifyCounter(new Uint8Array(16).fill(0x41))).toBeNull(); // no NUL
    expect(counter_ser_v2.size).toBe(40);
    expect(counter_ser_v2.offsetOf("buf_crc32")).toBe(36);
  });

  it("the default kernel writes v1 and accepts only v1", () => {
    const k = kernel("A");
    const plan = k.nodes.get("counter")!;
    expect(plan.writer.abi.compatible).toEqual(["counter-v1"]);
    expect(plan.accept.map((v) => v.abi.compatible[0])).toEqual(["counter-v1"]);
  });

  it("a v2 kernel pinned to accept v1 reads a v1 blob, then hands over v2 with a checksum", () => {
    const host = new LiveUpdateHost(smallMachine());
    host.boot(kernel("old"));
    counter(host).increment(11n);
    counter(host).write(pattern(3000, 5));

    const up = host.kexec(kernel("new", { counter: V2_READS_V1 }));
    expect(up.subtrees.restored).toContainEqual(
      expect.objectContaining({ name: "counter", compatible: "counter-v1", size: 36 }),
    );
    expect(counter(host).count).toBe(11n);
    expect(counter(host).bytes()).toEqual(pattern(3000, 5));
    expect(counter(host).writes).toBe("counter-v2");
    expect(host.kernel.out!.subFdts.get("counter")?.size).toBe(40);

    counter(host).increment();
    const again = host.kexec(kernel("newer", { counter: V2_READS_V1 }));
    expect(again.subtrees.restored).toContainEqual(
      expect.objectContaining({ name: "counter", compatible: "counter-v2", size: 40 }),
    );
    expect(counterLog(host)).toContain("restored count 12 and a 3000-byte buffer from counter-v2, crc32 ok");
    expect(again.verified.pluginBytes).toBe(73 + 40 + 3000);
  });

  it("a kernel that accepts only v2 refuses a v1 blob; the report names both strings", () => {
    const host = new LiveUpdateHost(smallMachine());
    host.boot(kernel("old"));
    counter(host).increment(4n);
    counter(host).write("lost on the way");

    const r = host.kexec(kernel("strict", { counter: V2_ONLY }));
    expect(r.outcome).toBe("running");
    expect(r.subtrees.refused).toEqual([
      expect.objectContaining({
        name: "counter",
        plugin: "counter",
        compatible: "counter-v1",
        accepted: ["counter-v2"],
        size: 36,
      }),
    ]);
    expect(r.subtrees.restored.map((s) => s.name)).toEqual(["kexec-metadata"]);
    expect(formatReport(r)).toContain("counter by counter: blob is counter-v1, kernel accepts counter-v2");
    expect(counterLog(host)).toEqual([
      expect.stringMatching(
        /^refusing counter-v1 at 0x[0-9a-f]+ \(this kernel accepts counter-v2\); the counter starts from 0$/,
      ),
    ]);
    // Never misread: nothing of the refused blob reached the state.
    expect(counter(host).count).toBe(0n);
    expect(counter(host).text()).toBe("");
    expect(counter(host).incoming).toBeNull();
  });

  it("a kernel that never heard of v2 refuses a v2 blob the same way", () => {
    const host = new LiveUpdateHost(smallMachine());
    host.boot(kernel("new", { counter: V2_ONLY }));
    counter(host).increment();
    const r = host.kexec(kernel("old"));
    expect(r.subtrees.refused).toEqual([
      expect.objectContaining({ name: "counter", compatible: "counter-v2", accepted: ["counter-v1"] }),
    ]);
  });

  it("a pin naming a version the plugin does not have fails at composition", () => {
    expect(() =>
      composeKernel({ release: "x", plugins: [counterPlugin], versions: { counter: { write: "counter-v3" } } }),
    ).toThrow('subtree "counter": plugin "counter" implements no version "counter-v3" (it has counter-v1, counter-v2)');
  });

  it("a v2 buffer changed after prepare fails its checksum: subtree lost, state empty, finish still frees", () => {
    // Runs after the counter's prepare and flips one bit of the folio it just filled.
    const corrupt = definePlugin({
      name: "bit-flip",
      dependsOn: ["counter"],
      outgoing: {
        prepare(ctx) {
          const pa = counter(host).prepared!.bufPa;
          ctx.mem.write(pa + 100, Uint8Array.of(ctx.mem.read(pa + 100, 1)[0]! ^ 0x10));
        },
      },
    });
    const host = new LiveUpdateHost(smallMachine());
    host.boot(kernel("A", { counter: V2_ONLY, extra: [corrupt] }));
    counter(host).increment(9n);
    counter(host).write(pattern(500, 1));
    const r = host.kexec(kernel("B", { counter: V2_ONLY }));
    expect(r.outcome).toBe("running");
    expect(r.subtrees.lost).toEqual([
      expect.objectContaining({
        name: "counter",
        plugin: "counter",
        compatible: "counter-v2",
        reason: expect.stringMatching(/^buffer crc32 0x[0-9a-f]+ does not match/),
      }),
    ]);
    expect(counter(host).count).toBe(0n);
    const folio = counter(host).incoming!.folio!;
    host.finish();
    expect(host.kernel.alloc.isFree(folio.pa)).toBe(true);
  });
});

describe("counter plugin: the schema feeds the project's generators", () => {
  it("the C header of each version states the layout and compiles", () => {
    for (const [abi, size] of [
      [counterV1, 36],
      [counterV2, 40],
    ] as const) {
      const header = generateCHeader(abi);
      expect(header).toContain('#define COUNTER_NODE_NAME "counter"');
      expect(header).toContain(`static_assert(sizeof(struct ${abi.layout.name}) == ${size}`);
      const gcc = spawnSync("gcc", ["-std=c11", "-fsyntax-only", "-x", "c", "-"], { input: header, encoding: "utf8" });
      if (gcc.error) continue; // no compiler here: the text checks above still ran
      expect(gcc.stderr).toBe("");
      expect(gcc.status).toBe(0);
    }
  });
});
