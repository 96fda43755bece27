import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { composeKernel, LiveUpdateHost, Machine } from "@khosim/kho-core";
import { kexecToImage, writeImageFile } from "@khosim/kho-core/image";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { capture } from "./helpers/io.js";

const dir = mkdtempSync(join(tmpdir(), "khosim-cli-image-"));
const imageFile = join(dir, "handover.core");
{
  const m = new Machine({ pageSize: "4KiB", ram: [{ start: 0, size: "1GiB", nid: 0 }] });
  const a = m.boot({ release: "7.2.0-rc1-a" });
  const pa = a.alloc.alloc(1);
  m.mem.write(pa, Uint8Array.of(1, 2, 3));
  a.out!.preserveFolio({ pa, order: 1 });
  writeImageFile(imageFile, kexecToImage(m, { release: "7.2.0-rc1-b" }).image);
}

describe("kho image", () => {
  it("info prints segments, record, machine and release", async () => {
    const io = capture();
    expect(await main(["image", "info", imageFile], io)).toBe(0);
    const head = [
      /^arch: x86_64\nrelease: 7\.2\.0-rc1-a\nmachine: page size 4096\n/,
      / {2}ram 0x0\+0x40000000 node 0\nrecord: x86, 48 bytes\n {2}fdt 0x[0-9a-f]+\+0x1000 scratch/,
    ];
    expect(io.stdout).toMatch(new RegExp(head.map((r) => r.source).join("")));
    expect(io.stdout).toMatch(/segment: kernel image 0x[0-9a-f]+\+0x2000000/);
    expect(io.stdout).toMatch(/ {2}paddr 0x[0-9a-f]+ memsz 0x2000000 filesz 0x0/);
  });

  it("info --json is one JSON document", async () => {
    const io = capture();
    expect(await main(["image", "info", imageFile, "--json"], io)).toBe(0);
    const info = JSON.parse(io.stdout) as { arch: string; record: { format: string }; loads: unknown[] };
    expect(info.arch).toBe("x86_64");
    expect(info.record.format).toBe("x86");
    expect(info.loads.length).toBeGreaterThan(1);
  });

  it("a file that is not an image is an error with its errno, exit 1", async () => {
    const bad = join(dir, "bad.core");
    writeFileSync(bad, readFileSync(imageFile).subarray(0, 100));
    const io = capture();
    expect(await main(["image", "info", bad], io)).toBe(1);
    expect(io.stderr).toMatch(/^kho image info: EIO: /);
    expect(await main(["image", "info"], capture())).toBe(2);
  });
});

describe("kho debugfs", () => {
  it("dump boots a kernel from the image and writes its kho/ view; decode reads it back", async () => {
    const out = join(dir, "kho");
    const io = capture();
    expect(await main(["debugfs", "dump", imageFile, out, "--release", "c"], io)).toBe(0);
    expect(io.stdout).toBe(`kho boot; wrote 3 file(s) to ${out}\n`);
    const dec = capture();
    expect(await main(["debugfs", "decode", out], dec)).toBe(0);
    expect(dec.stdout).toMatch(
      /^in\/\n {2}fdt: ok, 152 bytes, totalsize 152\n {4}preserved-memory-map 0x[0-9a-f]+: radix tree unavailable/,
    );
    expect(dec.stdout).toMatch(/\nout\/\n {2}scratch 0x[0-9a-f]+\+0x[0-9a-f]+\n/);
    const js = capture();
    expect(await main(["debugfs", "decode", out, "--json"], js)).toBe(0);
    const r = JSON.parse(js.stdout) as { in: { fdt: { status: string; compatible: string } }; out: { fdt: null } };
    expect(r.in.fdt).toMatchObject({ status: "ok", compatible: "kho-v4" });
    expect(r.out.fdt).toBeNull();
  });

  it("dump --arch arm64 boots a kernel that looks for a DT record: an x86 record is none, a cold boot", async () => {
    const io = capture();
    expect(await main(["debugfs", "dump", imageFile, join(dir, "kho-arm"), "--arch", "arm64"], io)).toBe(0);
    expect(io.stdout).toMatch(/^cold boot; /);
    expect(await main(["debugfs", "dump", imageFile, join(dir, "kho-x"), "--arch", "mips"], capture())).toBe(2);
  });

  it("issue 9 item 7: dump and decode hand each subtree to the plugin owning it, which decodes it", async () => {
    const m = new Machine({ pageSize: "4KiB", ram: [{ start: 0, size: "512MiB", nid: 0 }] });
    const host = new LiveUpdateHost(m);
    host.boot(composeKernel({ release: "7.2.0-rc1-a", plugins: [kexecMetadataPlugin] }));
    const file = join(dir, "with-metadata.core");
    writeImageFile(file, kexecToImage(m, { release: "b" }).image);
    const out = join(dir, "kho-metadata");
    const fields = '{"version":1,"previous_release":"7.2.0-rc1-a","kexec_count":1}';
    const io = capture();
    expect(await main(["debugfs", "dump", file, out], io), io.stderr).toBe(0);
    expect(io.stdout).toContain(`in/sub_fdts/kexec-metadata: kexec-metadata (kexec-metadata-v1): ${fields}\n`);
    const dec = capture();
    expect(await main(["debugfs", "decode", out], dec)).toBe(0);
    expect(dec.stdout).toContain(`  sub_fdts/kexec-metadata (73 bytes): `);
    expect(dec.stdout).toContain(`\n    kexec-metadata (kexec-metadata-v1): ${fields}\n`);
    const js = capture();
    expect(await main(["debugfs", "dump", file, join(dir, "kho-json"), "--json"], js)).toBe(0);
    expect(JSON.parse(js.stdout)).toMatchObject({
      bootKind: "kho",
      files: expect.arrayContaining(["in/fdt", "in/sub_fdts/kexec-metadata"]),
      warnings: [],
      described: [{ path: "in/sub_fdts/kexec-metadata", plugin: "kexec-metadata", id: "kexec-metadata-v1" }],
    });
  });

  it("decode of a missing folder is ENOENT, exit 2", async () => {
    const io = capture();
    expect(await main(["debugfs", "decode", join(dir, "nope")], io)).toBe(2);
    expect(io.stderr).toMatch(/^kho debugfs decode: ENOENT: /);
  });
});
