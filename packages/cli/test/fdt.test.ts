import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { capture } from "./helpers/io.js";

/** A minimal valid v17 DTB: root with one string property, written by hand. */
function tinyDtb(): Uint8Array {
  const words = (...w: number[]): number[] =>
    w.flatMap((n) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  const struct = [...words(1, 0, 3, 3, 0), 0x68, 0x69, 0, 0, ...words(2, 9)];
  const strings = [...new TextEncoder().encode("model"), 0];
  const rsv = words(0, 0, 0, 0);
  const offStruct = 40 + rsv.length;
  const offStrings = offStruct + struct.length;
  const total = offStrings + strings.length;
  const hdr = words(0xd00dfeed, total, offStruct, offStrings, 40, 17, 16, 0, strings.length, struct.length);
  return Uint8Array.from([...hdr, ...rsv, ...struct, ...strings]);
}

const dir = mkdtempSync(join(tmpdir(), "khosim-cli-fdt-"));
const good = join(dir, "good.dtb");
const bad = join(dir, "bad.dtb");
writeFileSync(good, tinyDtb());
const broken = tinyDtb();
broken[0] = 0;
writeFileSync(bad, broken);

describe("kho fdt", () => {
  it("check: valid blob exits 0", async () => {
    const io = capture();
    expect(await main(["fdt", "check", good], io)).toBe(0);
    expect(io.stdout).toBe("valid\n");
  });

  it("check: invalid blob exits 1 with libfdt's error name", async () => {
    const io = capture();
    expect(await main(["fdt", "check", bad], io)).toBe(1);
    expect(io.stdout).toBe("FDT_ERR_BADMAGIC\n");
  });

  it("dts prints dtc's text", async () => {
    const io = capture();
    expect(await main(["fdt", "dts", good], io)).toBe(0);
    expect(io.stdout).toBe('/dts-v1/;\n\n/ {\n\tmodel = "hi";\n};\n');
  });

  it("dts on an invalid blob reports the error and exits 1", async () => {
    const io = capture();
    expect(await main(["fdt", "dts", bad], io)).toBe(1);
    expect(io.stdout).toBe("");
    expect(io.stderr).toContain("FDT_ERR_BADMAGIC");
  });

  it("canon lists the blob, and prints INVALID with exit 1 for a bad one", async () => {
    const io = capture();
    expect(await main(["fdt", "canon", good], io)).toBe(0);
    expect(io.stdout).toBe("header version=17 last_comp=16 boot_cpuid=0\nnode /\nprop / model 3 686900\n");
    const io2 = capture();
    expect(await main(["fdt", "canon", bad], io2)).toBe(1);
    expect(io2.stdout).toBe("INVALID FDT_ERR_BADMAGIC\n");
  });

  it("usage errors exit 2; so does a missing file (issue 13: a path the command cannot use)", async () => {
    const io = capture();
    expect(await main(["fdt", "frob", good], io)).toBe(2);
    expect(await main(["fdt", "check"], capture())).toBe(2);
    const io3 = capture();
    expect(await main(["fdt", "check", join(dir, "nope.dtb")], io3)).toBe(2);
    expect(io3.stderr).toContain("ENOENT");
  });

  it("issue 13: a FIFO, /dev/zero or a looping symlink is one line on stderr and exit 2, at once", async () => {
    const fifo = join(dir, "fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    for (const [path, code] of [
      [fifo, "EINVAL"],
      ["/dev/zero", "EINVAL"],
      [join(dir, "good.dtb", "x"), "ENOTDIR"],
    ] as const) {
      for (const sub of ["check", "dts", "canon"]) {
        const io = capture();
        expect(await main(["fdt", sub, path], io)).toBe(2);
        expect(io.stdout).toBe("");
        expect(io.stderr).toMatch(new RegExp(`^kho fdt ${sub}: ${code}: [^\\n]*${path.split("/").pop()}[^\\n]*\\n$`));
      }
    }
  });

  it("issue 13: the wrapping property length of the 86-byte blob is FDT_ERR_BADSTRUCTURE, not a hang", async () => {
    const b = tinyDtb();
    // The root's property length word (header 40, reserve map 16, BEGIN_NODE + name 8, PROP tag 4).
    new DataView(b.buffer).setUint32(68, 0xfffffff4);
    const p = join(dir, "wrap.dtb");
    writeFileSync(p, b);
    const io = capture();
    expect(await main(["fdt", "check", p], io)).toBe(1);
    expect(io.stdout).toBe("FDT_ERR_BADSTRUCTURE\n");
  });
});
