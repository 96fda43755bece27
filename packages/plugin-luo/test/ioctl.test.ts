import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateCHeader } from "@khosim/kho-core/abi";
import { afterAll, describe, expect, it } from "vitest";
import {
  LIVEUPDATE_IOCTL_CREATE_SESSION,
  LIVEUPDATE_IOCTL_RETRIEVE_SESSION,
  LIVEUPDATE_SESSION_FINISH,
  LIVEUPDATE_SESSION_GET_NAME,
  LIVEUPDATE_SESSION_PRESERVE_FD,
  LIVEUPDATE_SESSION_RETRIEVE_FD,
  liveupdateUapi,
} from "../src/index.js";
import { boot, expectErrno, kernel, memfdText, memfdWith, uapi } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "khosim-luo-uapi-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** An argument buffer: the size field, then the given fields at their offsets. */
function arg(length: number, size: number, fill: (v: DataView, b: Uint8Array) => void = () => {}): Uint8Array {
  const b = new Uint8Array(length);
  const v = new DataView(b.buffer);
  v.setUint32(0, size, true);
  fill(v, b);
  return b;
}

const withName = (name: string) => (_v: DataView, b: Uint8Array) => b.set(new TextEncoder().encode(name), 8);
const fdOf = (b: Uint8Array) => new DataView(b.buffer).getInt32(4, true);

describe("/dev/liveupdate ioctls on raw argument buffers", () => {
  it("the uapi header compiles with gcc: 72, 72, 16, 16, 8 and 72 bytes; commands are _IO(0xBA, nr)", () => {
    const h = join(tmp, "liveupdate.h");
    writeFileSync(h, generateCHeader(liveupdateUapi));
    const src = join(tmp, "uapi.c");
    writeFileSync(src, `#include "${h}"\nint main(void) { return 0; }\n`);
    const cc = spawnSync("gcc", ["-std=c11", "-Wall", "-Werror", "-fsyntax-only", src], { encoding: "utf8" });
    expect(cc.error).toBeUndefined();
    expect(cc.stderr).toBe("");
    expect(cc.status).toBe(0);
    expect(liveupdateUapi.related.map((s) => ("size" in s ? s.size : 0))).toEqual([72, 16, 16, 8, 72]);
    expect([LIVEUPDATE_IOCTL_CREATE_SESSION, LIVEUPDATE_SESSION_GET_NAME]).toEqual([0xba00, 0xba43]);
  });

  it("CREATE_SESSION: size below 72 EINVAL, non-zero bytes past 72 E2BIG, zero ones fine; no NUL EINVAL", () => {
    const u = uapi(boot());
    const dev = u.open();
    expectErrno(() => u.ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, arg(72, 71, withName("a"))), "EINVAL");
    const tail = arg(80, 80, withName("a"));
    tail[79] = 1;
    expectErrno(() => u.ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, tail), "E2BIG");
    const ok = arg(80, 80, withName("a"));
    u.ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, ok);
    expect(u.getName(fdOf(ok))).toBe("a");
    const noNul = arg(72, 72, (_v, b) => b.fill(0x61, 8, 72));
    expectErrno(() => u.ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, noNul), "EINVAL");
  });

  it("a number outside the fd's table is EINVAL; a known number with another type is ENOTTY", () => {
    const u = uapi(boot());
    const dev = u.open();
    expectErrno(() => u.ioctl(dev, 0xba02, arg(72, 72)), "EINVAL");
    expectErrno(() => u.ioctl(dev, LIVEUPDATE_SESSION_FINISH, arg(8, 8)), "EINVAL");
    expectErrno(() => u.ioctl(dev, 0xbb00, arg(72, 72, withName("x"))), "ENOTTY");
  });

  it("GET_NAME (B.8): 16 bytes are enough, the reply is cut at the caller's size, name bytes must be 0", () => {
    const u = uapi(boot());
    const dev = u.open();
    const c = arg(72, 72, withName("a-longer-session-name"));
    u.ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, c);
    const s = fdOf(c);
    const short = arg(16, 16);
    u.ioctl(s, LIVEUPDATE_SESSION_GET_NAME, short);
    expect(new TextDecoder().decode(short.subarray(8))).toBe("a-longer");
    const full = arg(72, 72);
    u.ioctl(s, LIVEUPDATE_SESSION_GET_NAME, full);
    expect(new TextDecoder().decode(full.subarray(8, 30))).toBe("a-longer-session-name\0");
    expectErrno(() => u.ioctl(s, LIVEUPDATE_SESSION_GET_NAME, arg(72, 72, withName("x".repeat(20)))), "E2BIG");
    expectErrno(
      () =>
        u.ioctl(
          s,
          LIVEUPDATE_SESSION_GET_NAME,
          arg(16, 16, (v) => v.setUint32(4, 1, true)),
        ),
      "EINVAL",
    );
  });

  it("PRESERVE_FD, RETRIEVE_FD and FINISH through raw buffers across a kexec; FINISH does not check reserved", () => {
    const host = boot();
    const u = uapi(host);
    const c = arg(72, 72, withName("raw"));
    u.ioctl(u.open(), LIVEUPDATE_IOCTL_CREATE_SESSION, c);
    const mfd = memfdWith(host, "through ioctls");
    u.ioctl(
      fdOf(c),
      LIVEUPDATE_SESSION_PRESERVE_FD,
      arg(16, 16, (v) => {
        v.setInt32(4, mfd, true);
        v.setBigUint64(8, 0xabcn, true);
      }),
    );
    host.kexec(kernel("B"));
    const v = uapi(host);
    const r = arg(72, 72, withName("raw"));
    v.ioctl(v.open(), LIVEUPDATE_IOCTL_RETRIEVE_SESSION, r);
    const f = arg(16, 16, (dv) => dv.setBigUint64(8, 0xabcn, true));
    v.ioctl(fdOf(r), LIVEUPDATE_SESSION_RETRIEVE_FD, f);
    expect(memfdText(host, fdOf(f))).toBe("through ioctls");
    v.ioctl(
      fdOf(r),
      LIVEUPDATE_SESSION_FINISH,
      arg(8, 8, (dv) => dv.setUint32(4, 0xffff, true)),
    );
    expectErrno(() => v.ioctl(fdOf(r), LIVEUPDATE_SESSION_RETRIEVE_FD, f), "ENOENT");
  });
});
