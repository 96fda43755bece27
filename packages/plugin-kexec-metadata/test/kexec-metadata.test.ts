import {
  type AnyPlugin,
  type ComposedKernel,
  composeKernel,
  definePlugin,
  LiveUpdateHost,
  Machine,
} from "@khosim/kho-core";
import { describe, expect, it } from "vitest";
import { KHO_METADATA_NODE_NAME, kexecMetadataPlugin, kho_kexec_metadata } from "../src/index.js";

const machine = () =>
  new Machine({
    pageSize: "4KiB",
    ram: [
      { start: 0, size: "1GiB", nid: 0 },
      { start: "4GiB", size: "1GiB", nid: 0 },
    ],
  });

const kernel = (release: string, plugins: AnyPlugin[] = [kexecMetadataPlugin]): ComposedKernel =>
  composeKernel({ release, plugins });

/** The 73 bytes as spec §8 lays them out, built by hand. */
function expectedBlob(version: number, release: string, count: number): Uint8Array {
  const b = new Uint8Array(73);
  const v = new DataView(b.buffer);
  v.setUint32(0, version, true);
  b.set(new TextEncoder().encode(release), 4);
  v.setUint32(69, count, true);
  return b;
}

function outgoingBlob(host: LiveUpdateHost): Uint8Array {
  const pa = host.context(kexecMetadataPlugin).state.blobPa;
  return host.kernel.mem.read(pa, 73);
}

function khoLines(host: LiveUpdateHost): string[] {
  return host.kernel.log.lines.filter((l) => l.prefix === "KHO: ").map((l) => l.text);
}

describe("kexec-metadata", () => {
  it("is a packed 73-byte struct with the spec's offsets", () => {
    expect(kho_kexec_metadata.size).toBe(73);
    expect(kho_kexec_metadata.offsetOf("previous_release")).toBe(4);
    expect(kho_kexec_metadata.offsetOf("kexec_count")).toBe(69);
  });

  it("counts a chain cold(A) -> B -> C -> B and logs where each kernel came from", () => {
    const host = new LiveUpdateHost(machine());
    host.boot(kernel("A"));
    expect(outgoingBlob(host)).toEqual(expectedBlob(1, "A", 1));
    expect(khoLines(host).some((l) => l.startsWith("exec from"))).toBe(false);

    const toB = host.kexec(kernel("B"));
    expect(toB.outcome).toBe("running");
    expect(toB.to?.bootKind).toBe("kho");
    expect(khoLines(host)).toContain("exec from: A (count 1)");
    expect(outgoingBlob(host)).toEqual(expectedBlob(1, "B", 2));

    host.kexec(kernel("C"));
    expect(khoLines(host)).toContain("exec from: B (count 2)");
    expect(outgoingBlob(host)).toEqual(expectedBlob(1, "C", 3));

    const back = host.kexec(kernel("B"));
    expect(khoLines(host)).toContain("exec from: C (count 3)");
    expect(outgoingBlob(host)).toEqual(expectedBlob(1, "B", 4));
    expect(back.subtrees.restored.map((s) => [s.name, s.compatible])).toEqual([
      [KHO_METADATA_NODE_NAME, "kexec-metadata-v1"],
    ]);
    expect(back.verified.pluginBytes).toBe(73);
  });

  it("is the first subtree of every root FDT, on cold and KHO boots, whatever the plugin order", () => {
    const other = definePlugin({
      name: "other",
      outgoing: {
        init(ctx) {
          ctx.kho.addSubtree("other", ctx.kho.allocPreserve(8), 8);
        },
      },
    });
    const host = new LiveUpdateHost(machine());
    host.boot(kernel("A", [other, kexecMetadataPlugin]));
    expect([...host.kernel.out!.subFdts.keys()]).toEqual([KHO_METADATA_NODE_NAME, "other"]);
    host.kexec(kernel("B", [other, kexecMetadataPlugin]));
    expect([...host.kernel.out!.subFdts.keys()]).toEqual([KHO_METADATA_NODE_NAME, "other"]);
  });

  it("checklist 44: cold boot writes {1, release, 1}; receiving count 5 logs it and writes 6", () => {
    const host = new LiveUpdateHost(machine());
    host.boot(kernel("7.2.0-rc1-a"));
    expect(outgoingBlob(host)).toEqual(expectedBlob(1, "7.2.0-rc1-a", 1));
    const pa = host.context(kexecMetadataPlugin).state.blobPa;
    host.kernel.mem.writeU32(pa + kho_kexec_metadata.offsetOf("kexec_count"), 5);
    host.kexec(kernel("7.2.0-rc1-b"));
    expect(khoLines(host)).toContain("exec from: 7.2.0-rc1-a (count 5)");
    expect(outgoingBlob(host)).toEqual(expectedBlob(1, "7.2.0-rc1-b", 6));
  });

  /**
   * A stand-in for a different kexec-metadata writer: at prepare it rewrites
   * the blob and re-registers it with the blob-size of our choosing.
   */
  function forger(bytes: Uint8Array, size: number, blobPa: () => number): AnyPlugin {
    return definePlugin({
      name: "forger",
      outgoing: {
        prepare(ctx) {
          const pa = blobPa();
          ctx.mem.write(pa, bytes);
          ctx.kho.removeSubtree(pa);
          ctx.kho.addSubtree(KHO_METADATA_NODE_NAME, pa, size);
        },
      },
    });
  }

  it.each([
    ["blob-size 72", expectedBlob(1, "A", 9), 72, "kexec-metadata blob too small for v1 (72 < 73)"],
    ["version 2", expectedBlob(2, "A", 9), 73, "kexec-metadata version 2 not supported (expected 1)"],
    ["blob-size 3", expectedBlob(1, "A", 9), 3, "kexec-metadata blob too small (3 bytes)"],
  ])("checklist 45: %s is ignored with a warning and the next count restarts at 1", (_what, bytes, size, warning) => {
    const host = new LiveUpdateHost(machine());
    host.boot(
      kernel("A", [kexecMetadataPlugin, forger(bytes, size, () => host.context(kexecMetadataPlugin).state.blobPa)]),
    );
    const r = host.kexec(kernel("B"));
    expect(host.kernel.log.lines).toContainEqual({ level: "warn", prefix: "KHO: ", text: warning });
    expect(khoLines(host).some((l) => l.startsWith("exec from"))).toBe(false);
    expect(outgoingBlob(host)).toEqual(expectedBlob(1, "B", 1));
    expect([...r.subtrees.refused, ...r.subtrees.lost].map((s) => s.name)).toEqual([KHO_METADATA_NODE_NAME]);
    expect(r.subtrees.restored).toEqual([]);
  });

  it("a version mismatch is refused and reported with both compatible strings", () => {
    const host = new LiveUpdateHost(machine());
    host.boot(
      kernel("A", [
        kexecMetadataPlugin,
        forger(expectedBlob(7, "A", 2), 73, () => host.context(kexecMetadataPlugin).state.blobPa),
      ]),
    );
    const r = host.kexec(kernel("B"));
    expect(r.subtrees.refused).toEqual([
      expect.objectContaining({
        name: KHO_METADATA_NODE_NAME,
        plugin: "kexec-metadata",
        compatible: "kexec-metadata-v7",
        accepted: ["kexec-metadata-v1"],
      }),
    ]);
  });

  it("truncates a release longer than 64 bytes to 64", () => {
    const host = new LiveUpdateHost(machine());
    const long = "r".repeat(64);
    host.boot(kernel(long));
    expect(outgoingBlob(host)).toEqual(expectedBlob(1, long, 1));
  });
});
