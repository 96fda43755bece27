import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  debugfs_kho_kexec_metadata,
  debugfs_luo_ser,
  debugfsView,
  decodeDebugfs,
  decodeDebugfsDir,
  writeDebugfs,
} from "../src/debugfs/index.js";
import { type BootHooks, type Kernel, Machine } from "../src/kexec/index.js";

const text = new TextDecoder();

/** What the kexec-metadata plugin does in kho_init: a 73-byte blob in a preserved page, added as the first subtree. */
function metadataHook(count: number): BootHooks {
  return {
    khoInit(k: Kernel) {
      const pa = k.out!.allocPreserve(debugfs_kho_kexec_metadata.size);
      k.mem.write(
        pa,
        debugfs_kho_kexec_metadata.encode({ version: 1, previous_release: k.release, kexec_count: count }),
      );
      k.out!.addSubtree("kexec-metadata", pa, debugfs_kho_kexec_metadata.size);
    },
  };
}

function addLuo(k: Kernel): number {
  const pa = k.out!.allocPreserve(32);
  k.mem.write(
    pa,
    debugfs_luo_ser.encode({ compatible: "luo-v5", liveupdate_num: 1n, sessions_pa: 0n, flbs_pa: 0x123000n }),
  );
  k.out!.addSubtree("LUO", pa, 32);
  return pa;
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
    // root: BEGIN_NODE + "" (8), compatible (20), preserved-memory-map (20), then "LUO" node (8) and its blob-size prop.
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
  it("decodes in/fdt, kexec-metadata and LUO; what needs memory is unavailable", () => {
    const m = new Machine();
    const k = m.boot({ release: "7.2.0-rc1-a" }, metadataHook(1));
    addLuo(k);
    const k2 = m.kexec({ release: "b" }, metadataHook(2));
    const dir = mkdtempSync(join(tmpdir(), "khosim-debugfs-"));
    writeDebugfs(dir, debugfsView(k2));
    const r = decodeDebugfsDir(dir);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(r.in!.fdt!.status).toBe("ok");
    expect(r.in!.fdt!.compatible).toBe("kho-v4");
    expect(r.in!.fdt!.preservedMemoryMap!.radixTree).toMatch(/^unavailable/);
    expect(r.in!.fdt!.subtrees.map((s) => [s.name, s.blobSize, s.retrieve])).toEqual([
      ["LUO", 32, 0],
      ["kexec-metadata", 73, 0],
    ]);
    const meta = r.in!.subFdts.find((b) => b.name === "kexec-metadata")!;
    expect(meta.decoded).toEqual({ kind: "kexec-metadata", version: 1, previousRelease: "7.2.0-rc1-a", kexecCount: 1 });
    expect(meta.problems).toEqual([]);
    const luo = r.in!.subFdts.find((b) => b.name === "LUO")!;
    expect(luo.decoded).toEqual({
      kind: "luo",
      compatible: "luo-v5",
      liveupdateNum: "1",
      sessionsPa: "0x0",
      flbsPa: "0x123000",
    });
    expect(luo.unavailable).toEqual(["FLB page at 0x123000: unavailable: memory pages are not part of a debugfs copy"]);
    expect(r.out!.fdt).toBeNull();
    expect(r.out!.scratch!.areas.length).toBe(4);
    expect(r.out!.scratch!.problems).toEqual([]);
  });

  it("a truncated out/fdt is reported as truncated, not parsed", () => {
    const m = new Machine();
    const k = m.boot({ release: "a" }, metadataHook(1));
    addLuo(k);
    const r = decodeDebugfs(debugfsView(k).files);
    expect(r.out!.fdt).toMatchObject({ status: "truncated", length: 233, totalsize: 285, subtrees: [] });
    expect(r.in).toBeNull();
  });

  it("bad blobs are reported with the next kernel's complaints; FDT blobs parse, others are raw", () => {
    const meta72 = debugfs_kho_kexec_metadata
      .encode({ version: 1, previous_release: "x", kexec_count: 5 })
      .subarray(0, 72);
    const v2 = debugfs_kho_kexec_metadata.encode({ version: 2, previous_release: "x", kexec_count: 5 });
    const luo4 = debugfs_luo_ser.encode({
      compatible: "luo-v4",
      liveupdate_num: 3n,
      sessions_pa: 0x5000n,
      flbs_pa: 0x6000n,
    });
    const m = new Machine();
    const k = m.boot({ release: "a" });
    const files = new Map<string, Uint8Array>([
      ["in/sub_fdts/kexec-metadata", meta72],
      ["out/sub_fdts/kexec-metadata", v2],
      ["in/sub_fdts/LUO", luo4],
      ["in/sub_fdts/memblock", k.out!.fdt.slice(0, 152)],
      ["in/sub_fdts/junk", Uint8Array.of(1, 2, 3)],
    ]);
    const r = decodeDebugfs(files);
    const by = (side: "in" | "out", n: string) => r[side]!.subFdts.find((b) => b.name === n)!;
    expect(by("in", "kexec-metadata").problems).toEqual(["kexec-metadata blob too small for v1 (72 < 73)"]);
    expect(by("out", "kexec-metadata").problems).toEqual(["kexec-metadata version 2 not supported (expected 1)"]);
    expect(by("in", "LUO").problems).toEqual(['compatible "luo-v4" is not "luo-v5": the next kernel panics']);
    expect(by("in", "LUO").unavailable.length).toBe(2);
    expect(by("in", "memblock").decoded).toMatchObject({ kind: "fdt", compatible: "kho-v4" });
    expect(by("in", "junk").decoded).toEqual({ kind: "raw", head: "010203" });
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
