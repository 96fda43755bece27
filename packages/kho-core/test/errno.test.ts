import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERRNO_VALUES, type Errno, isErrno, KhoError } from "../src/errors.js";

/** `#define EXXX n` (or an alias of an earlier name) from the installed uapi headers, the oracle. */
function uapiErrnos(): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of ["/usr/include/asm-generic/errno-base.h", "/usr/include/asm-generic/errno.h"])
    for (const m of readFileSync(f, "utf8").matchAll(/^#define\s+(E[A-Z0-9_]+)\s+(\w+)/gm)) {
      const v = /^\d+$/.test(m[2]!) ? Number(m[2]) : out.get(m[2]!);
      if (v === undefined) throw new Error(`${m[1]} aliases unknown ${m[2]}`);
      out.set(m[1]!, v);
    }
  return out;
}

/** include/linux/errno.h at v7.2-rc1: the codes that never reach userspace. */
const KERNEL_INTERNAL: Record<string, number> = {
  ERESTARTSYS: 512,
  ERESTARTNOINTR: 513,
  ERESTARTNOHAND: 514,
  ENOIOCTLCMD: 515,
  ERESTART_RESTARTBLOCK: 516,
  EPROBE_DEFER: 517,
  EOPENSTALE: 518,
  ENOPARAM: 519,
  EBADHANDLE: 521,
  ENOTSYNC: 522,
  EBADCOOKIE: 523,
  ENOTSUPP: 524,
  ETOOSMALL: 525,
  ESERVERFAULT: 526,
  EBADTYPE: 527,
  EJUKEBOX: 528,
  EIOCBQUEUED: 529,
  ERECALLCONFLICT: 530,
  ENOGRACE: 531,
};

describe("Errno (issue 9 item 4)", () => {
  it("has every Linux errno name with its number: the uapi headers' and include/linux/errno.h's", () => {
    const expected = new Map([...uapiErrnos(), ...Object.entries(KERNEL_INTERNAL)]);
    expect(expected.size).toBeGreaterThan(150);
    expect(new Map(Object.entries(ERRNO_VALUES))).toEqual(expected);
  });

  it("ENODEV and EMSGSIZE are errnos a plugin may return, with their negative numbers", () => {
    expect(new KhoError("ENODEV", "no such device").errno).toBe(-19);
    expect(new KhoError("EMSGSIZE", "message too long").errno).toBe(-90);
    expect(new KhoError("EWOULDBLOCK", "try again").errno).toBe(-11);
    expect(isErrno("EPROBE_DEFER")).toBe(true);
    expect(isErrno("ENOTANERRNO")).toBe(false);
    const code: Errno = "EHWPOISON";
    expect(ERRNO_VALUES[code]).toBe(133);
  });
});
