import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AnyPlugin,
  composeKernel,
  defineAbi,
  definePlugin,
  defineStruct,
  defineSubtree,
  field,
  LiveUpdateHost,
  Machine,
} from "@khosim/kho-core";
import { debugfsView, decodeDebugfs, decodeDebugfsDir, writeDebugfs } from "@khosim/kho-core/debugfs";
import { describe, expect, it } from "vitest";
import { KHO_METADATA_NODE_NAME, kexecMetadataPlugin, kexecMetadataSubtree } from "../src/index.js";

const machine = () => new Machine({ pageSize: "4KiB", ram: [{ start: 0, size: "1GiB" }] });

/** spec §8's 73 bytes, built by hand; `release` is written as given, NUL or not. */
function blob(version: number, release: Uint8Array, count: number): Uint8Array {
  const b = new Uint8Array(73);
  new DataView(b.buffer).setUint32(0, version, true);
  b.set(release.subarray(0, 65), 4);
  new DataView(b.buffer).setUint32(69, count, true);
  return b;
}
const ascii = (s: string) => new TextEncoder().encode(s);

/** Rewrites this kernel's kexec-metadata blob in place at prepare: a different writer, byte for byte. */
function rewriter(host: LiveUpdateHost, bytes: Uint8Array): AnyPlugin {
  return definePlugin({
    name: "rewriter",
    outgoing: { prepare: (ctx) => ctx.mem.write(host.context(kexecMetadataPlugin).state.blobPa, bytes) },
  });
}

const khoText = (host: LiveUpdateHost) => host.kernel.log.lines.filter((l) => l.prefix === "KHO: ").map((l) => l.text);

describe("kexec-metadata timing and reading (issue 8 item 5)", () => {
  it("the incoming blob is read inside kho_init, after an early_initcall consumer has restored its subtree", () => {
    const seen: string[] = [];
    const host = new LiveUpdateHost(machine());
    const count = () => host.context(kexecMetadataPlugin).state.incomingCount;
    const probe = defineSubtree({
      abi: defineAbi({
        name: "probe",
        title: "probe",
        summary: "test",
        compatible: ["probe-v1"],
        version: "1",
        layout: defineStruct("probe_ser", { value: field.u64() }, { packed: true }),
      }),
      identify: () => "probe-v1",
    });
    const consumer = definePlugin({
      name: "consumer",
      subtrees: [probe],
      incoming: {
        restore(ctx) {
          seen.push(`restore at early_initcall: metadata count ${count()}`);
          ctx.log.info("restored");
        },
      },
      outgoing: {
        init(ctx) {
          seen.push(`init at late_initcall: metadata count ${count()}`);
          if (ctx.khoEnabled) ctx.kho.addSubtree("probe", ctx.kho.allocPreserve(8), 8);
        },
      },
    });
    const k = (release: string) => composeKernel({ release, plugins: [consumer, kexecMetadataPlugin] });
    host.boot(k("A"));
    seen.length = 0;
    const r = host.kexec(k("B"));
    expect(seen).toEqual(["restore at early_initcall: metadata count 0", "init at late_initcall: metadata count 1"]);
    const log = r.log;
    expect(log.indexOf("consumer: restored")).toBeGreaterThanOrEqual(0);
    expect(log.indexOf("consumer: restored")).toBeLessThan(log.indexOf("KHO: exec from: A (count 1)"));
    expect(r.subtrees.restored.map((s) => s.name)).toEqual(["probe", KHO_METADATA_NODE_NAME]);
  });

  it("previous_release is read with strscpy(…, 65): junk after the NUL ignored, no NUL truncates to 64", () => {
    const junk = new Uint8Array(65);
    junk.set(ascii("7.2.0-a"));
    junk.set(ascii("garbage"), 20);
    const full = ascii("x".repeat(65));
    for (const [release, shown] of [
      [junk, "7.2.0-a"],
      [full, "x".repeat(64)],
    ] as const) {
      const host = new LiveUpdateHost(machine());
      host.boot(composeKernel({ release: "A", plugins: [kexecMetadataPlugin, rewriter(host, blob(1, release, 9))] }));
      const r = host.kexec(composeKernel({ release: "B", plugins: [kexecMetadataPlugin] }));
      expect(khoText(host)).toContain(`exec from: ${shown} (count 9)`);
      expect(r.subtrees.restored.map((s) => s.name)).toEqual([KHO_METADATA_NODE_NAME]);
      expect(host.context(kexecMetadataPlugin).state.incomingRelease).toBe(shown);
    }
  });

  it("a kho=off kernel kexec'd into from a KHO kernel retrieves no kexec-metadata", () => {
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [kexecMetadataPlugin] }));
    const r = host.kexec(composeKernel({ release: "B", cmdline: "kho=off", plugins: [kexecMetadataPlugin] }));
    expect(r.outcome).toBe("running");
    expect(r.to?.khoEnabled).toBe(false);
    expect(khoText(host).some((l) => l.startsWith("exec from"))).toBe(false);
    expect(host.context(kexecMetadataPlugin).state).toEqual({ incomingCount: 0, incomingRelease: null, blobPa: 0 });
    const names = [...r.subtrees.restored, ...r.subtrees.refused, ...r.subtrees.lost].map((s) => s.name);
    expect(names).not.toContain(KHO_METADATA_NODE_NAME);
    expect(r.hookFailures).toEqual([]);
  });
});

describe("debugfs decoding of kexec-metadata, through the plugin", () => {
  it("a copy with a kexec-metadata subtree shows its fields", () => {
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "7.2.0-rc1-a", plugins: [kexecMetadataPlugin] }));
    host.kexec(composeKernel({ release: "7.2.0-rc1-b", plugins: [kexecMetadataPlugin] }));
    const dir = mkdtempSync(join(tmpdir(), "khosim-kexec-metadata-"));
    writeDebugfs(dir, debugfsView(host.kernel));
    const r = decodeDebugfsDir(dir, kexecMetadataPlugin.subtrees);
    const one = (side: "in" | "out") => r[side]!.subFdts.find((b) => b.name === KHO_METADATA_NODE_NAME)!;
    expect(one("in").decoded).toEqual({
      kind: "subtree",
      compatible: "kexec-metadata-v1",
      version: "1",
      fields: { version: 1, previous_release: "7.2.0-rc1-a", kexec_count: 1 },
    });
    expect(one("out").decoded).toMatchObject({ fields: { previous_release: "7.2.0-rc1-b", kexec_count: 2 } });
    expect(one("in").problems).toEqual([]);
  });

  it("bad blobs get the next kernel's complaints in its words; a lenient release is not one", () => {
    const junk = new Uint8Array(65);
    junk.set(ascii("r"));
    junk[10] = 0xff;
    const files = new Map<string, Uint8Array>([
      ["in/sub_fdts/kexec-metadata", blob(1, ascii("x"), 5).subarray(0, 72)],
      ["out/sub_fdts/kexec-metadata", blob(1, junk, 5)],
    ]);
    const r = decodeDebugfs(files, [kexecMetadataSubtree]);
    const one = (side: "in" | "out") => r[side]!.subFdts[0]!;
    expect(one("in").problems).toEqual(["kexec-metadata blob too small for v1 (72 < 73)"]);
    expect(one("out").problems).toEqual([]);
    expect(one("out").decoded).toMatchObject({ fields: { previous_release: "r", kexec_count: 5 } });
    const v2 = decodeDebugfs(new Map([["in/sub_fdts/kexec-metadata", blob(2, ascii("x"), 5)]]), [kexecMetadataSubtree]);
    expect(v2.in!.subFdts[0]!.problems).toEqual([
      'blob claims "kexec-metadata-v2"; known versions of "kexec-metadata": kexec-metadata-v1',
    ]);
  });
});
