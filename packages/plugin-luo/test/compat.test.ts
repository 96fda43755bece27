import { definePlugin, LiveUpdateHost } from "@khosim/kho-core";
import { readBlockHeader } from "@khosim/kho-core/block";
import { FdtSw } from "@khosim/kho-core/fdt";
import { describe, expect, it } from "vitest";
import {
  LUO_FDT_COMPATIBLE,
  LUO_FDT_LIVEUPDATE_NUM,
  LUO_FDT_SESSION_COMPATIBLE,
  LUO_FDT_SESSION_HEADER,
  LUO_FDT_SESSION_NODE_NAME,
  luo_file_ser,
  luo_ser,
  luo_session_header_ser,
  luo_session_ser,
  luoRestorePanic,
} from "../src/index.js";
import { kernel, luo, machine, memfdText, memfdWith, uapi } from "./helpers.js";

function u64le(v: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return b;
}

/**
 * Stands for a kernel of the luo-v1 era: after LUO serialised, it rewrites
 * the hand-over in the FDT form (liveupdate-number, a luo-session node, a
 * contiguous session array and one contiguous file array per session) and
 * puts that FDT in place of `struct luo_ser` under the `LUO` node.
 */
function luoV1Writer(host: () => LiveUpdateHost) {
  return definePlugin({
    name: "luo-v1-writer",
    dependsOn: ["luo"],
    outgoing: {
      prepare(ctx) {
        const core = luo(host()).core;
        const mem = ctx.mem;
        const sessions = [...core.sessions.outgoing.values()];
        const header = ctx.kho.allocPreserve(
          luo_session_header_ser.size + Math.max(1, sessions.length) * luo_session_ser.size,
        );
        mem.writeU64(header, sessions.length);
        sessions.forEach((s, i) => {
          const slot = header + luo_session_header_ser.size + i * luo_session_ser.size;
          let files = 0;
          if (s.files.count > 0) {
            files = ctx.kho.allocPreserve(s.files.count * luo_file_ser.size);
            let k = 0;
            for (const b of s.files.blocks.blocks) {
              const n = Number(readBlockHeader(mem, b).count);
              mem.write(files + k * luo_file_ser.size, mem.read(b + 16, n * luo_file_ser.size));
              k += n;
            }
          }
          luo_session_ser.writeAt(mem, slot, {
            name: s.name,
            file_set_ser: { files: BigInt(files), count: BigInt(s.files.count) },
          });
        });
        const sw = FdtSw.create(ctx.kernel.pageSize);
        sw.finishReservemap();
        sw.beginNode("");
        sw.propertyString("compatible", LUO_FDT_COMPATIBLE);
        sw.property(LUO_FDT_LIVEUPDATE_NUM, u64le(luo_ser.readAt(mem, core.luoSerPa).liveupdate_num));
        sw.beginNode(LUO_FDT_SESSION_NODE_NAME);
        sw.propertyString("compatible", LUO_FDT_SESSION_COMPATIBLE);
        sw.property(LUO_FDT_SESSION_HEADER, u64le(header));
        sw.endNode();
        sw.endNode();
        const fdt = sw.finish();
        const fdtPa = ctx.kho.allocPreserve(ctx.kernel.pageSize);
        const size = new DataView(fdt.buffer, fdt.byteOffset).getUint32(4);
        mem.write(fdtPa, fdt.subarray(0, size));
        ctx.kho.removeSubtree(core.luoSerPa);
        ctx.kho.addSubtree("LUO", fdtPa, size);
      },
    },
  });
}

function luoV1Era(): LiveUpdateHost {
  let host: LiveUpdateHost | undefined;
  host = new LiveUpdateHost(machine());
  host.boot(kernel("luo-v1-era", { plugins: [luoV1Writer(() => host!)] }));
  const u = uapi(host);
  const dev = u.open();
  const s = u.createSession(dev, "vm-1");
  u.preserveFd(s, memfdWith(host, "guest memory survives the upgrade"), 0x77n);
  u.createSession(dev, "empty");
  return host;
}

describe("LUO blobs of another version", () => {
  it("a v7.2-rc1 kernel receiving the luo-v1 FDT form panics with the kernel's message", () => {
    const host = luoV1Era();
    const r = host.kexec(kernel("7.2.0-rc1"));
    expect(r.outcome).toBe("panicked");
    expect(r.panic).toBe(luoRestorePanic("EINVAL"));
    expect(r.log).toContain("luo: LUO state is incompatible with 'luo-v5'");
    expect(r.subtrees.refused).toEqual([
      expect.objectContaining({ name: "LUO", plugin: "luo", compatible: null, accepted: ["luo-v5"] }),
    ]);
  });

  it("with the plugin's luo-v1 reader accepted by the composition, the sessions and memfd contents come back", () => {
    const host = luoV1Era();
    const r = host.kexec(kernel("7.2.0-rc1", { pin: { accept: ["luo-v5", "luo-v1"] } }));
    expect(r.outcome).toBe("running");
    expect(r.subtrees.restored).toContainEqual(
      expect.objectContaining({ name: "LUO", plugin: "luo", compatible: "luo-v1" }),
    );
    expect(luo(host).core.liveupdateNum).toBe(1n);
    const v = uapi(host);
    const dev = v.open();
    const s = v.retrieveSession(dev, "vm-1");
    expect(memfdText(host, v.retrieveFd(s, 0x77n))).toBe("guest memory survives the upgrade");
    v.finishSession(s);
    v.finishSession(v.retrieveSession(dev, "empty"));
    // The kernel that read luo-v1 hands over luo-v5, which the next rc1 kernel reads as usual.
    expect(luo_ser.readAt(host.kernel.mem, luo(host).core.luoSerPa).liveupdate_num).toBe(2n);
    v.preserveFd(v.createSession(dev, "vm-1"), memfdWith(host, "again"), 1n);
    expect(host.kexec(kernel("7.2.0-rc1-next")).outcome).toBe("running");
    const w = uapi(host);
    expect(memfdText(host, w.retrieveFd(w.retrieveSession(w.open(), "vm-1"), 1n))).toBe("again");
  });

  it("a luo-v1 FDT whose session node is of another version panics even with the reader", () => {
    let host: LiveUpdateHost | undefined;
    host = new LiveUpdateHost(machine());
    const breaker = definePlugin({
      name: "breaker",
      dependsOn: ["luo-v1-writer"],
      outgoing: {
        prepare(ctx) {
          const sub = ctx.kho.subFdts.get("LUO")!;
          const bytes = ctx.mem.read(sub.pa, sub.size);
          const at = Buffer.from(bytes).indexOf(LUO_FDT_SESSION_COMPATIBLE);
          ctx.mem.write(sub.pa + at, new TextEncoder().encode("luo-session-v9"));
        },
      },
    });
    host.boot(kernel("A", { plugins: [luoV1Writer(() => host!), breaker] }));
    const r = host.kexec(kernel("B", { pin: { accept: ["luo-v5", "luo-v1"] } }));
    expect(r.outcome).toBe("panicked");
    expect(r.panic).toBe(luoRestorePanic("EINVAL"));
    expect(r.log.at(-1)).toBe(`Kernel panic - not syncing: ${r.panic}`);
  });
});
