import { LiveUpdateHost } from "@khosim/kho-core";
import { readBlockHeader } from "@khosim/kho-core/block";
import { describe, expect, it } from "vitest";
import { createLuoPlugin, luoRestorePanic } from "../src/index.js";
import { expectErrno, kernel, luo, machine, uapi } from "./helpers.js";

/**
 * Spec B.6: LUO grows the session block set before it looks for a
 * duplicate name, and a refused create does not shrink it back. With the
 * set exactly full, the refused create leaves an empty block at the end of
 * the chain; reboot serialisation links it with count 0, and the next
 * kernel's block restore rejects the chain, which panics it.
 */
describe("hazard B.6: grow before the duplicate-name check", () => {
  function run(strict: boolean) {
    const host = new LiveUpdateHost(machine());
    const plugin = createLuoPlugin({ strict });
    host.boot(kernel("A", { luo: plugin }));
    const u = uapi(host, plugin);
    const dev = u.open();
    const sessions = luo(host, plugin).core.sessions;
    const steps: string[] = [];
    // Step 1: exactly one full block of sessions (51 with 4 KiB pages).
    for (let i = 0; i < 51; i++) u.createSession(dev, `vm-${i}`);
    steps.push(`51 sessions: ${sessions.blocks.nblocks} block(s)`);
    // Step 2: userspace retries a name it already has.
    expectErrno(() => u.createSession(dev, "vm-7"), "EEXIST");
    steps.push(`duplicate refused: ${sessions.blocks.nblocks} block(s)`);
    const tail = sessions.blocks.blocks.at(-1)!;
    // Step 3: reboot. Step 4: the next kernel restores the session chain at early_initcall.
    const r = host.kexec(kernel("B", { luo: plugin }));
    steps.push(`tail block after reboot: count ${readBlockHeader(host.kernel.mem, tail).count}`);
    return { r, steps };
  }

  it("as rc1 does it: the empty block is serialised with count 0 and the next kernel panics", () => {
    const { r, steps } = run(false);
    expect(steps).toEqual([
      "51 sessions: 1 block(s)",
      "duplicate refused: 2 block(s)",
      "tail block after reboot: count 0",
    ]);
    expect(r.outcome).toBe("panicked");
    expect(r.log).toContain("luo: Block contains invalid entry count: 0");
    expect(r.panic).toBe(luoRestorePanic("EINVAL"));
  });

  it("strict (the duplicate check first): no block is added and the 51 sessions reach the next kernel", () => {
    const { r, steps } = run(true);
    expect(steps).toEqual([
      "51 sessions: 1 block(s)",
      "duplicate refused: 1 block(s)",
      "tail block after reboot: count 51",
    ]);
    expect(r.outcome).toBe("running");
    expect(r.log).toContain("luo: Retrieved live update data, liveupdate number: 1");
  });

  it("closing one session before the reboot shrinks the set back and avoids the panic in rc1 too", () => {
    const host = new LiveUpdateHost(machine());
    host.boot(kernel("A"));
    const u = uapi(host);
    const dev = u.open();
    const fds = Array.from({ length: 51 }, (_, i) => u.createSession(dev, `vm-${i}`));
    expectErrno(() => u.createSession(dev, "vm-0"), "EEXIST");
    u.close(fds[50]!);
    expect(luo(host).core.sessions.blocks.nblocks).toBe(1);
    expect(host.kexec(kernel("B")).outcome).toBe("running");
  });
});
