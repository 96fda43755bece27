import { composeKernel, LiveUpdateHost } from "@khosim/kho-core";
import { debugfsView, decodeDebugfs } from "@khosim/kho-core/debugfs";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { describe, expect, it } from "vitest";
import { counterPlugin } from "../src/index.js";
import { counter, kernel, smallMachine } from "./helpers.js";

describe("the counter runs at its own initcall level, after kho_init (issue 8 item 6)", () => {
  it("A cold boot with the example counter plugin has a 233-byte out/fdt in its debugfs view", () => {
    const host = new LiveUpdateHost(smallMachine());
    host.boot(kernel("7.2.0-rc1"));
    const view = debugfsView(host.kernel);
    const file = view.files.get("out/fdt")!;
    // out/fdt's length was fixed at the end of kho_init, when only kexec-metadata existed.
    expect(file.length).toBe(233);
    expect(view.files.get("out/sub_fdts/counter")).toHaveLength(36);
    const live = host.kernel.out!.fdt;
    expect(new DataView(live.buffer, live.byteOffset).getUint32(4, false)).toBeGreaterThan(233);
    expect(file).toEqual(live.subarray(0, 233));
    const decoded = decodeDebugfs(view.files, [
      ...(counterPlugin.subtrees ?? []),
      ...(kexecMetadataPlugin.subtrees ?? []),
    ]);
    expect(decoded.out!.fdt!.status).toBe("truncated");
    // The counter's blob stays zeroed until prepare writes it: nothing to identify yet.
    expect(decoded.out!.subFdts.map((b) => [b.name, b.decoded.kind, b.problems])).toEqual([
      ["counter", "raw", ['blob claims ""; known versions of "counter": counter-v1, counter-v2']],
      ["kexec-metadata", "subtree", []],
    ]);
  });

  it("with KHO off, init still runs (late_initcall), sees khoEnabled false and lists nothing; nothing fails", () => {
    const host = new LiveUpdateHost(smallMachine());
    const r = host.boot(
      composeKernel({ release: "A", cmdline: "kho=off", plugins: [kexecMetadataPlugin, counterPlugin] }),
    );
    expect(r.to?.khoEnabled).toBe(false);
    expect(r.hookFailures).toEqual([]);
    expect(counter(host).serPa).toBe(0);
    expect(counter(host).writes).toBeNull();
    expect(debugfsView(host.kernel).files.size).toBe(0);
  });

  it("the counter's subtree is added after kexec-metadata's on every boot: the root FDT lists it second", () => {
    const host = new LiveUpdateHost(smallMachine());
    host.boot(kernel("A"));
    expect([...host.kernel.out!.subFdts.keys()]).toEqual(["kexec-metadata", "counter"]);
    host.kexec(kernel("B"));
    expect([...host.kernel.out!.subFdts.keys()]).toEqual(["kexec-metadata", "counter"]);
  });
});
