import { definePlugin, LiveUpdateHost } from "@khosim/kho-core";
import { describe, expect, it } from "vitest";
import {
  MEMFD_LUO_FOLIO_DIRTY,
  MEMFD_LUO_FOLIO_UPTODATE,
  Memfd,
  memfd_luo_folio_ser,
  memfd_luo_ser,
  memfdCreate,
} from "../src/index.js";
import { boot, expectErrno, handlerPlugin, kernel, luo, machine, TokenFile, tokenHandler, uapi } from "./helpers.js";

function memfdOf(host: LiveUpdateHost, fd: number): Memfd {
  const f = uapi(host).file(fd);
  if (!(f instanceof Memfd)) throw new Error("not a memfd");
  return f;
}

describe("memfd file handler (memfd-v2)", () => {
  it("restores contents with a hole, size, position and seals; struct and folio array are byte-exact", () => {
    let host: LiveUpdateHost | undefined;
    const seen: { ser: unknown; folios: unknown[] }[] = [];
    const look = definePlugin({
      name: "look",
      dependsOn: ["luo"],
      outgoing: {
        prepare(ctx) {
          const f = [...luo(host!).core.sessions.outgoing.values()][0]!.files.files[0]!;
          const ser = memfd_luo_ser.readAt(ctx.mem, Number(f.serializedData));
          const chunk = Number(ser.folios.first);
          const page = ctx.mem.readU64Number(chunk + 8);
          const folios = Array.from({ length: Number(ser.nr_folios) }, (_, k) =>
            memfd_luo_folio_ser.readAt(ctx.mem, page + k * 16),
          );
          seen.push({ ser, folios });
        },
      },
    });
    host = new LiveUpdateHost(machine());
    host.boot(kernel("A", { plugins: [look] }));
    const u = uapi(host);
    const m = memfdCreate(host.kernel, "guest");
    m.pwrite(0, new TextEncoder().encode("page zero"));
    m.pwrite(2 * 4096 + 100, new TextEncoder().encode("page two"));
    m.seals = 0x1 | 0x4;
    m.pos = 1234;
    const folios = [...m.folios.entries()].sort((a, b) => a[0] - b[0]);
    u.preserveFd(u.createSession(u.open(), "s"), u.installFile(m), 1n);
    m.pos = 4321; // moves after preserve; freeze refreshes it
    host.kexec(kernel("B"));
    const flags = BigInt(MEMFD_LUO_FOLIO_DIRTY | MEMFD_LUO_FOLIO_UPTODATE) << 52n;
    expect(seen).toEqual([
      {
        ser: expect.objectContaining({ pos: 4321n, size: BigInt(2 * 4096 + 108), seals: 5, flags: 0, nr_folios: 2n }),
        folios: folios.map(([index, pa]) => ({ pfn_flags: BigInt(pa / 4096) | flags, index: BigInt(index) })),
      },
    ]);
    const v = uapi(host);
    const got = memfdOf(host, v.retrieveFd(v.retrieveSession(v.open(), "s"), 1n));
    expect([got.size, got.pos, got.seals]).toEqual([2 * 4096 + 108, 4321, 5]);
    expect(new TextDecoder().decode(got.pread(0, 9))).toBe("page zero");
    expect(got.pread(4096, 4096).every((b) => b === 0)).toBe(true);
    expect(new TextDecoder().decode(got.pread(2 * 4096 + 100, 8))).toBe("page two");
    expect([...got.folios.values()]).toEqual(folios.map(([, pa]) => pa));
  });

  it("an empty memfd has no folio array: nr_folios 0 and folios zeroed", () => {
    const host = boot();
    const u = uapi(host);
    u.preserveFd(u.createSession(u.open(), "s"), u.installFile(memfdCreate(host.kernel, "empty")), 1n);
    const f = [...luo(host).core.sessions.outgoing.values()][0]!.files.files[0]!;
    expect(memfd_luo_ser.readAt(host.kernel.mem, Number(f.serializedData))).toEqual({
      pos: 0n,
      size: 0n,
      seals: 0,
      flags: 0,
      nr_folios: 0n,
      folios: { first: 0n, total_pages: 0, flags: 0, order: 0 },
    });
  });

  it("a HugeTLB memfd has no handler: ENOENT", () => {
    const host = boot();
    const u = uapi(host);
    const s = u.createSession(u.open(), "s");
    expectErrno(() => u.preserveFd(s, u.installFile(memfdCreate(host.kernel, "huge", true)), 1n), "ENOENT");
  });

  it("finishing a session whose memfd was never retrieved gives its folios and struct back to the allocator", () => {
    const host = boot();
    const u = uapi(host);
    const m = memfdCreate(host.kernel, "m");
    m.write("x".repeat(3 * 4096));
    u.preserveFd(u.createSession(u.open(), "s"), u.installFile(m), 1n);
    const pages = [...m.folios.values()];
    host.kexec(kernel("B"));
    const v = uapi(host);
    expect(pages.some((pa) => host.kernel.alloc.isFree(pa))).toBe(false);
    v.finishSession(v.retrieveSession(v.open(), "s"));
    expect(pages.every((pa) => host.kernel.alloc.isFree(pa))).toBe(true);
  });

  it("hazard: after a rolled-back reboot a memfd cannot be frozen again (serialized_data 0)", () => {
    let refuse = true;
    const fh = tokenHandler("test-token-v1", { freezeFails: () => refuse });
    const host = boot({ plugins: [handlerPlugin("test-fh", fh)] });
    const u = uapi(host);
    const dev = u.open();
    const m = memfdCreate(host.kernel, "m");
    m.write("data");
    u.preserveFd(u.createSession(dev, "a"), u.installFile(m), 1n);
    u.preserveFd(u.createSession(dev, "b"), u.installFile(new TokenFile(1n)), 1n);
    const first = host.kexec(kernel("B", { plugins: [handlerPlugin("test-fh", fh)] }));
    expect(first.outcome).toBe("aborted");
    refuse = false;
    const retry = host.kexec(kernel("B", { plugins: [handlerPlugin("test-fh", fh)] }));
    expect(retry.outcome).toBe("aborted");
    expect(retry.abortedBy).toEqual({ plugin: "luo", reason: "memfd_luo_freeze: serialized_data is 0" });
    expect(retry.log).toContain("luo: Freeze failed for token[0x1] handler[memfd-v2] err[-EINVAL]");
  });
});
