import { definePlugin, LiveUpdateHost } from "@khosim/kho-core";
import { describe, expect, it } from "vitest";
import { describeLuoSer, luo_ser } from "../src/index.js";
import { kernel, luo, machine, uapi } from "./helpers.js";

describe("inspecting a LUO blob", () => {
  it("decodes the luo_ser a kernel handed over, naming what lives outside the blob", () => {
    let host: LiveUpdateHost | undefined;
    const blobs: Uint8Array[] = [];
    // What debugfs would copy out of the outgoing kernel once LUO has serialised.
    const copy = definePlugin({
      name: "copy",
      dependsOn: ["luo"],
      outgoing: { prepare: (ctx) => void blobs.push(ctx.mem.read(luo(host!).core.luoSerPa, luo_ser.size)) },
    });
    host = new LiveUpdateHost(machine());
    host.boot(kernel("A", { plugins: [copy] }));
    uapi(host).createSession(uapi(host).open(), "vm");
    const blocks = luo(host).core.sessions.blocks.headPa;
    const flbs = luo(host).core.flbs.pagePa;
    host.kexec(kernel("B"));
    expect(blobs).toHaveLength(1);
    expect(describeLuoSer(blobs[0]!)).toEqual({
      fields: {
        compatible: "luo-v5",
        liveupdate_num: "1",
        sessions_pa: `0x${blocks.toString(16)}`,
        flbs_pa: `0x${flbs.toString(16)}`,
      },
      problems: [],
      unavailable: [
        `session blocks at 0x${blocks.toString(16)}: not in the blob`,
        `FLB page at 0x${flbs.toString(16)}: not in the blob`,
      ],
    });
  });

  it("names what the next kernel would panic on: a short blob, another compatible", () => {
    expect(describeLuoSer(new Uint8Array(16)).problems).toEqual([
      "LUO state is too small (16 < 32): the next kernel panics",
    ]);
    const v4 = luo_ser.encode({ compatible: "luo-v4", liveupdate_num: 1n, sessions_pa: 0n, flbs_pa: 0x1000n });
    expect(describeLuoSer(v4).problems).toEqual([
      "LUO state is incompatible with 'luo-v5' (it says \"luo-v4\"): the next kernel panics",
    ]);
  });
});
