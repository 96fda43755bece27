import { describe, expect, it } from "vitest";
import {
  type AnyPlugin,
  composeKernel,
  definePlugin,
  LiveUpdateHost,
  registryToken,
  serviceToken,
} from "../src/index.js";
import { machine } from "./helpers/host-plugins.js";

/** What LUO's file handler registry holds: a handler per file type, with its compatible string. */
interface FileHandler {
  readonly compatible: string;
  canPreserve(kind: string): boolean;
}

const FILE_HANDLERS = registryToken<FileHandler>("test.file-handlers");
const ORCHESTRATOR = serviceToken<{ readonly release: string }>("test.orchestrator");

const orchestrator = definePlugin({
  name: "orchestrator",
  provides: [ORCHESTRATOR],
  setup: (ctx) => ctx.provide(ORCHESTRATOR, { release: ctx.kernel.release }),
});

function handler(name: string, compatible: string, kind: string): AnyPlugin {
  return definePlugin({
    name,
    dependsOn: ["orchestrator"],
    setup: (ctx) => ctx.register(FILE_HANDLERS, { compatible, canPreserve: (k) => k === kind }),
  });
}

describe("services and registries through the kernel's container (issue 9 item 3)", () => {
  it("two plugins providing the same single service is a composition error naming both", () => {
    const rival = definePlugin({ name: "rival", provides: [ORCHESTRATOR] });
    expect(() => composeKernel({ release: "A", plugins: [orchestrator, rival] })).toThrowError(
      /plugins "orchestrator" and "rival" both provide service "test.orchestrator"/,
    );
  });

  it("two memfd-like handlers register into one registry and are both resolved, in dependency order", () => {
    const memfd = handler("memfd", "memfd-v2", "memfd");
    const guestmem = handler("guestmem", "guestmem-v1", "guest_memfd");
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [guestmem, memfd, orchestrator] }));
    const all = host.context(orchestrator).resolveAll(FILE_HANDLERS);
    expect(all.map((h) => h.compatible)).toEqual(["guestmem-v1", "memfd-v2"]);
    expect(all.find((h) => h.canPreserve("memfd"))?.compatible).toBe("memfd-v2");
    expect(host.context(orchestrator).service(ORCHESTRATOR)).toEqual({ release: "A" });
    // Each kernel has its own child container: B starts with what B's plugins register.
    host.kexec(composeKernel({ release: "B", plugins: [memfd, orchestrator] }));
    expect(
      host
        .context(orchestrator)
        .resolveAll(FILE_HANDLERS)
        .map((h) => h.compatible),
    ).toEqual(["memfd-v2"]);
    expect(host.context(orchestrator).service(ORCHESTRATOR)).toEqual({ release: "B" });
  });

  it("a plugin resolves the services of its dependencies only: another's is EINVAL naming both", () => {
    const stranger = definePlugin({ name: "stranger", setup: (ctx) => void ctx.service(ORCHESTRATOR) });
    const r = new LiveUpdateHost(machine()).boot(composeKernel({ release: "A", plugins: [orchestrator, stranger] }));
    expect(r.hookFailures).toEqual([
      expect.objectContaining({
        plugin: "stranger",
        hook: "setup",
        code: "EINVAL",
        message: expect.stringMatching(/"stranger" resolves service "test.orchestrator" of "orchestrator", which it/),
      }),
    ]);
  });

  it("a registry nobody registered into resolves to nothing", () => {
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [orchestrator] }));
    expect(host.context(orchestrator).resolveAll(FILE_HANDLERS)).toEqual([]);
  });

  it("providing a service not declared in provides fails the setup hook, naming plugin and service", () => {
    const sneaky = definePlugin({ name: "sneaky", setup: (ctx) => ctx.provide(ORCHESTRATOR, { release: "x" }) });
    const r = new LiveUpdateHost(machine()).boot(composeKernel({ release: "A", plugins: [sneaky] }));
    expect(r.hookFailures).toEqual([
      expect.objectContaining({
        plugin: "sneaky",
        hook: "setup",
        code: "EINVAL",
        message: expect.stringMatching(/"sneaky" provides service "test.orchestrator" without declaring it/),
      }),
    ]);
  });

  it("state() receives what the kernel is: release, generation, page size, command line and boot kind", () => {
    const seen: unknown[] = [];
    const p = definePlugin({ name: "p", state: (k) => void seen.push(k) });
    const host = new LiveUpdateHost(machine());
    host.boot(composeKernel({ release: "A", plugins: [p] }));
    host.kexec(composeKernel({ release: "B", plugins: [p] }));
    expect(seen).toEqual([
      { release: "A", generation: 1, pageSize: 4096, cmdline: "kho=on", bootKind: "cold" },
      { release: "B", generation: 2, pageSize: 4096, cmdline: "kho=on", bootKind: "kho" },
    ]);
  });
});
