import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defineAbi } from "../src/abi/schema.js";
import { defineStruct } from "../src/abi/struct.js";
import { field } from "../src/abi/vocabulary.js";
import { decodeDebugfs, decodeDebugfsDir } from "../src/debugfs/decode.js";
import { debugfsView, writeDebugfs } from "../src/debugfs/view.js";
import { defineSubtree } from "../src/host/subtree.js";
import type { BootHooks, Kernel } from "../src/kexec/kernel.js";
import { Machine } from "../src/kexec/machine.js";

const text = new TextDecoder();

/** spec §8's 73 bytes, built by hand: u32 version, char[65] release, u32 count. */
function metadataBlob(version: number, release: string, count: number): Uint8Array {
  const b = new Uint8Array(73);
  new DataView(b.buffer).setUint32(0, version, true);
  b.set(new TextEncoder().encode(release), 4);
  new DataView(b.buffer).setUint32(69, count, true);
  return b;
}

/** What kho_init does first: the 73-byte metadata blob in a preserved page, added as the first subtree. */
function metadataHook(count: number): BootHooks {
  return {
    khoInit(k: Kernel) {
      const pa = k.out!.allocPreserve(73);
      k.mem.write(pa, metadataBlob(1, k.release, count));
      k.out!.addSubtree("kexec-metadata", pa, 73);
    },
  };
}

/** A consumer's 32-byte blob under the name LUO uses, added after kho_init. */
function addLuo(k: Kernel): number {
  const pa = k.out!.allocPreserve(32);
  k.mem.write(pa, new Uint8Array(32).fill(0x5a));
  k.out!.addSubtree("LUO", pa, 32);
  return pa;
}

/** A plugin's subtree the core knows nothing about: only the version handed to the decoder explains it. */
const probe_ser = defineStruct(
  "probe_ser",
  { magic: field.char(16), value: field.u64(), where_pa: field.phys() },
  { packed: true },
);
const probeV1 = defineSubtree({
  abi: defineAbi({
    name: "probe",
    title: "probe",
    summary: "test",
    compatible: ["probe-v1"],
    version: "1",
    layout: probe_ser,
  }),
  identify: (b) =>
    b.length >= 16 ? new TextDecoder().decode(b.subarray(0, Math.max(0, b.subarray(0, 16).indexOf(0)))) : null,
  describe: (b, v) => {
    const m = v.decode(b);
    return {
      fields: { value: m.value.toString() },
      unavailable: [`page at 0x${m.where_pa.toString(16)}: not in a copy`],
    };
  },
});

function addProbe(k: Kernel, magic: string): void {
  const pa = k.out!.allocPreserve(probe_ser.size);
  k.mem.write(pa, probe_ser.encode({ magic, value: 77n, where_pa: 0x123000n }));
  k.out!.addSubtree("probe", pa, probe_ser.size);
}

describe("debugfs view", () => {
  it("checklist 46: scratch_phys/scratch_len print one lowercase 0x line per scratch area in array order", () => {
    const m = new Machine();
    const k = m.boot({ release: "a" });
    const v = debugfsView(k);
    expect(k.scratch.length).toBe(4); // lowmem, global, node 0, node 1
    expect(text.decode(v.files.get("out/scratch_phys"))).toBe(
      k.scratch.map((s) => `0x${s.addr.toString(16)}\n`).join(""),
    );
    expect(text.decode(v.files.get("out/scratch_len"))).toBe(
      k.scratch.map((s) => `0x${s.size.toString(16)}\n`).join(""),
    );
    expect(text.decode(v.files.get("out/scratch_len"))).toMatch(/^(0x[0-9a-f]+\n){4}$/);
    // A KHO boot shows the inherited array unchanged.
    const k2 = m.kexec({ release: "b" });
    expect(k2.bootKind).toBe("kho");
    expect(debugfsView(k2).files.get("out/scratch_phys")).toEqual(v.files.get("out/scratch_phys"));
  });

  it("checklist 47: cold boot out/fdt keeps its kho_init length; a KHO boot has no out/fdt", () => {
    const m = new Machine();
    const k = m.boot({ release: "a" }, metadataHook(1));
    expect(debugfsView(k).files.get("out/fdt")!.length).toBe(233);
    addLuo(k);
    const v = debugfsView(k);
    const fdt = v.files.get("out/fdt")!;
    expect(fdt.length).toBe(233);
    expect(new DataView(fdt.buffer).getUint32(4, false)).toBe(285); // header of the live FDT
    expect(fdt).toEqual(k.out!.fdt.subarray(0, 233));
    expect(v.files.get("out/sub_fdts/LUO")!.length).toBe(32);
    expect(v.files.get("out/sub_fdts/kexec-metadata")!.length).toBe(73);
    expect(v.files.has("in/fdt")).toBe(false);

    const k2 = m.kexec({ release: "b" }, metadataHook(2));
    const v2 = debugfsView(k2);
    expect(v2.files.has("out/fdt")).toBe(false);
    expect(v2.files.get("in/fdt")!.length).toBe(285);
    expect([...v2.files.keys()].filter((p) => p.startsWith("in/sub_fdts/")).sort()).toEqual([
      "in/sub_fdts/LUO",
      "in/sub_fdts/kexec-metadata",
    ]);
    expect(v2.files.get("out/sub_fdts/kexec-metadata")!.length).toBe(73);
  });

  it("incoming children without an 8-byte blob-size are skipped with a warning", () => {
    const m = new Machine();
    const k = m.boot({ release: "a" }, metadataHook(1));
    const pa = addLuo(k);
    // KhoOut cannot write a broken node, so patch the FDT page: LUO (newest child) gets a 4-byte blob-size.
    const fdt = k.out!.fdt;
    const dv = new DataView(fdt.buffer, fdt.byteOffset);
    const struct = dv.getUint32(8, false);
    // root: BEGIN_NODE + "" (8), compatible (20), preserved-memory-map (20),
    // then the "LUO" node (8) and its blob-size prop.
    const prop = struct + 8 + 20 + 20 + 8;
    expect(dv.getUint32(prop, false)).toBe(3);
    dv.setUint32(prop + 4, 4, false);
    dv.setUint32(prop + 16, 4, false); // FDT_NOP over the 4 bytes the value no longer covers
    expect(pa).toBeGreaterThan(0);
    const k2 = m.kexec({ release: "b" });
    const v = debugfsView(k2);
    expect(v.files.has("in/sub_fdts/LUO")).toBe(false);
    expect(v.files.has("in/sub_fdts/kexec-metadata")).toBe(true);
    expect(v.warnings).toEqual(["KHO: debugfs: skipping incoming subtree 'LUO': missing or invalid blob-size"]);
  });
});

describe("decoding a copy of debugfs kho/", () => {
  it("decodes in/fdt; a subtree through the version it is given; what needs memory is unavailable", () => {
    const m = new Machine();
    const k = m.boot({ release: "7.2.0-rc1-a" }, metadataHook(1));
    addProbe(k, "probe-v1");
    const k2 = m.kexec({ release: "b" }, metadataHook(2));
    const dir = mkdtempSync(join(tmpdir(), "khosim-debugfs-"));
    writeDebugfs(dir, debugfsView(k2));
    const r = decodeDebugfsDir(dir, [probeV1]);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(r.in!.fdt!.status).toBe("ok");
    expect(r.in!.fdt!.compatible).toBe("kho-v4");
    expect(r.in!.fdt!.preservedMemoryMap!.radixTree).toMatch(/^unavailable/);
    expect(r.in!.fdt!.subtrees.map((s) => [s.name, s.blobSize, s.retrieve])).toEqual([
      ["probe", 32, 0],
      ["kexec-metadata", 73, 0],
    ]);
    const probe = r.in!.subFdts.find((b) => b.name === "probe")!;
    expect(probe.decoded).toEqual({ kind: "subtree", compatible: "probe-v1", version: "1", fields: { value: "77" } });
    expect(probe.unavailable).toEqual(["page at 0x123000: not in a copy"]);
    expect(probe.problems).toEqual([]);
    expect(r.out!.fdt).toBeNull();
    expect(r.out!.scratch!.areas.length).toBe(4);
    expect(r.out!.scratch!.problems).toEqual([]);
  });

  it("without the plugin's versions the same copy decodes to raw bytes; the core names no subtree", () => {
    const m = new Machine();
    const k = m.boot({ release: "a" }, metadataHook(1));
    addProbe(k, "probe-v1");
    const r = decodeDebugfs(debugfsView(m.kexec({ release: "b" }, metadataHook(2))).files);
    const by = (n: string) => r.in!.subFdts.find((b) => b.name === n)!;
    expect(by("probe").decoded).toEqual({ kind: "raw", head: expect.stringMatching(/^70726f62652d7631/) });
    expect(by("kexec-metadata").decoded).toMatchObject({ kind: "raw" });
    expect(by("probe").problems).toEqual([]);
  });

  it("a truncated out/fdt is reported as truncated, not parsed", () => {
    const m = new Machine();
    const k = m.boot({ release: "a" }, metadataHook(1));
    addLuo(k);
    const r = decodeDebugfs(debugfsView(k).files);
    expect(r.out!.fdt).toMatchObject({ status: "truncated", length: 233, totalsize: 285, subtrees: [] });
    expect(r.in).toBeNull();
  });

  it("a blob no given version identifies says what it claims; FDT blobs parse, others are raw", () => {
    const m = new Machine();
    const k = m.boot({ release: "a" });
    const probe9 = probe_ser.encode({ magic: "probe-v9", value: 1n, where_pa: 0n });
    const files = new Map<string, Uint8Array>([
      ["in/sub_fdts/probe", probe9],
      ["in/sub_fdts/memblock", k.out!.fdt.slice(0, 152)],
      ["in/sub_fdts/junk", Uint8Array.of(1, 2, 3)],
    ]);
    const r = decodeDebugfs(files, [probeV1]);
    const by = (n: string) => r.in!.subFdts.find((b) => b.name === n)!;
    expect(by("probe").problems).toEqual(['blob claims "probe-v9"; known versions of "probe": probe-v1']);
    expect(by("probe").decoded).toMatchObject({ kind: "raw" });
    expect(by("memblock").decoded).toMatchObject({ kind: "fdt", compatible: "kho-v4" });
    expect(by("junk").decoded).toEqual({ kind: "raw", head: "010203" });
    expect(r.warnings).toContain("in/ has no fdt: subtrees cannot be matched to the root FDT");
  });

  it("reads only debugfs paths from a folder", () => {
    const dir = mkdtempSync(join(tmpdir(), "khosim-debugfs-"));
    const m = new Machine();
    writeDebugfs(join(dir, "kho"), debugfsView(m.boot({ release: "a" }, metadataHook(1))));
    writeFileSync(join(dir, "kho", "out", "finalize"), "1\n");
    const r = decodeDebugfsDir(dir);
    expect(r.out!.fdt!.status).toBe("ok");
    expect(r.warnings).toEqual(["out/finalize is not a debugfs kho/ file; ignored"]);
  });
});
