import { type AnyPlugin, definePlugin, LiveUpdateHost } from "@khosim/kho-core";
import { describe, expect, it } from "vitest";
import { luoRestorePanic } from "../src/index.js";
import { expectErrno, kernel, luo, machine, memfdWith, uapi } from "./helpers.js";

/** Runs `tamper` on the outgoing kernel once LUO has serialised, then kexecs. */
function handOverTampered(tamper: (h: LiveUpdateHost) => void, work: (h: LiveUpdateHost) => void) {
  let host: LiveUpdateHost | undefined;
  const after: AnyPlugin = definePlugin({
    name: "tamper",
    dependsOn: ["luo"],
    outgoing: { prepare: () => tamper(host!) },
  });
  host = new LiveUpdateHost(machine());
  host.boot(kernel("A", { plugins: [after] }));
  work(host);
  return { host, r: host.kexec(kernel("B")) };
}

describe("corrupt chains from the previous kernel", () => {
  it("a session chain whose block points at itself panics the next kernel at early_initcall", () => {
    const { r } = handOverTampered(
      (h) => {
        const head = luo(h).core.sessions.blocks.headPa;
        h.kernel.mem.writeU64(head, head);
      },
      (h) => uapi(h).createSession(uapi(h).open(), "s"),
    );
    expect(r.outcome).toBe("panicked");
    expect(r.log).toContain("luo: Block set is corrupted");
    expect(r.panic).toBe(luoRestorePanic("EINVAL"));
  });

  it("a corrupt file chain is found only at the first open: EIO, no panic (rc1 reads files lazily)", () => {
    const { host, r } = handOverTampered(
      (h) => {
        const s = luo(h).core.sessions.outgoing.get("s")!;
        h.kernel.mem.writeU64(s.files.blocks.headPa + 8, 0);
      },
      (h) => {
        const u = uapi(h);
        u.preserveFd(u.createSession(u.open(), "s"), memfdWith(h, "x"), 1n);
      },
    );
    expect(r.outcome).toBe("running");
    expect(expectErrno(() => uapi(host).open(), "EIO").message).toContain("invalid entry count: 0");
    expect(r.log).not.toContain("luo: Block contains invalid entry count: 0");
    expect(host.kernel.log.lines.map((l) => l.prefix + l.text)).toContain("luo: Block contains invalid entry count: 0");
  });
});
