import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateCHeader } from "@khosim/kho-core/abi";
import { afterAll, describe, expect, it } from "vitest";
import {
  luo_file_ser,
  luo_file_set_ser,
  luo_flb_header_ser,
  luo_flb_ser,
  luo_ser,
  luo_session_ser,
  luoV5,
  memfd_luo_folio_ser,
  memfd_luo_ser,
  memfdV2,
} from "../src/index.js";

/** sizeof of every struct as include/linux/kho/abi/luo.h and memfd.h declare them. */
const KERNEL_SIZEOF = {
  luo_ser: 32,
  luo_session_ser: 80,
  luo_file_set_ser: 16,
  luo_file_ser: 64,
  luo_flb_header_ser: 16,
  luo_flb_ser: 64,
  memfd_luo_ser: 48,
  memfd_luo_folio_ser: 16,
};

const tmp = mkdtempSync(join(tmpdir(), "khosim-luo-abi-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("LUO and memfd ABI", () => {
  it("declares the eight structs with the kernel's sizes and offsets", () => {
    const layouts = [
      luo_ser,
      luo_session_ser,
      luo_file_set_ser,
      luo_file_ser,
      luo_flb_header_ser,
      luo_flb_ser,
      memfd_luo_ser,
      memfd_luo_folio_ser,
    ];
    expect(Object.fromEntries(layouts.map((l) => [l.name, l.size]))).toEqual(KERNEL_SIZEOF);
    expect(luo_ser.offsetOf("flbs_pa")).toBe(24);
    expect(luo_session_ser.offsetOf("file_set_ser")).toBe(64);
    expect(luo_file_ser.offsetOf("token")).toBe(56);
    expect(memfd_luo_ser.offsetOf("seals")).toBe(16);
    expect(memfd_luo_ser.offsetOf("folios")).toBe(32);
  });

  it("the generated C headers compile with gcc and give the kernel's sizeof for all eight structs", () => {
    const luoH = join(tmp, "luo.h");
    const memfdH = join(tmp, "memfd.h");
    writeFileSync(luoH, generateCHeader(luoV5));
    writeFileSync(memfdH, generateCHeader(memfdV2));
    const names = Object.keys(KERNEL_SIZEOF);
    const prog = [
      "#include <stdio.h>",
      `#include "${luoH}"`,
      `#include "${memfdH}"`,
      "int main(void) {",
      ...names.map((n) => `  printf("${n} %zu\\n", sizeof(struct ${n}));`),
      "  return 0;",
      "}",
    ].join("\n");
    const src = join(tmp, "sizes.c");
    const bin = join(tmp, "sizes");
    writeFileSync(src, prog);
    const cc = spawnSync("gcc", ["-std=c11", "-Wall", "-Werror", "-o", bin, src], { encoding: "utf8" });
    expect(cc.error).toBeUndefined();
    expect(cc.stderr).toBe("");
    expect(cc.status).toBe(0);
    const run = spawnSync(bin, { encoding: "utf8" });
    const got = Object.fromEntries(
      run.stdout
        .trim()
        .split("\n")
        .map((l) => [l.split(" ")[0], Number(l.split(" ")[1])]),
    );
    expect(got).toEqual(KERNEL_SIZEOF);
  });

  it('checklist 31: struct luo_ser encodes "luo-v5\\0\\0" at offset 0 and little-endian u64s after it', () => {
    const bytes = luo_ser.encode({ compatible: "luo-v5", liveupdate_num: 3n, sessions_pa: 0x1000n, flbs_pa: 0x2000n });
    const want = new Uint8Array(32);
    want.set(new TextEncoder().encode("luo-v5"), 0);
    want[8] = 3;
    want[17] = 0x10;
    want[25] = 0x20;
    expect(bytes).toEqual(want);
  });
});
