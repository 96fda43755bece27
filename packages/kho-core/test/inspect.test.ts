import { describe, expect, it } from "vitest";
import { captureImage, type HandoverImage, inspectImage, jumpImage } from "../src/image/index.js";
import { composeKernel, LiveUpdateHost } from "../src/index.js";
import { blobPlugin, machine } from "./helpers/host-plugins.js";

const plugin = blobPlugin("alpha", "node-alpha");

function handoverImage(): HandoverImage {
  let image: HandoverImage | null = null;
  const host = new LiveUpdateHost(machine(), {
    atJump: (m, h) => {
      image = jumpImage(m, h);
    },
  });
  host.boot(composeKernel({ release: "A", plugins: [plugin] }));
  host.kexec(composeKernel({ release: "B", plugins: [plugin] }));
  return image!;
}

/** The image with 8 bytes at `pa` replaced (pa must lie in a load's file data). */
function patched(image: HandoverImage, pa: number, bytes: Uint8Array): HandoverImage {
  const loads = image.loads.map((l) => {
    if (pa < l.pa || pa + bytes.length > l.pa + l.data.length) return l;
    const data = l.data.slice();
    data.set(bytes, pa - l.pa);
    return { ...l, data };
  });
  return { ...image, loads };
}

describe("inspectImage reads a handover without booting (issue 12 item 5)", () => {
  it("decodes each subtree by the version that identifies it, and walks the tree from the image's memory", () => {
    const x = inspectImage(handoverImage(), [plugin]);
    expect(x.problems).toEqual([]);
    expect(x.subtrees.map((s) => [s.name, s.owner, s.decoded.kind])).toEqual([["node-alpha", "alpha", "subtree"]]);
    const alpha = x.subtrees.find((s) => s.name === "node-alpha")!;
    expect(alpha.decoded).toMatchObject({ kind: "subtree", compatible: "node-alpha-v1", fields: { value: "0x2a" } });
    expect(x.radix).toMatchObject({ status: "walked", blocks: 2, pages: 2, byOrder: { 0: 2 }, preservedBytes: 8192 });
  });

  it("an image without a record: a problem line, no root FDT, a map of memory only", () => {
    const m = machine();
    m.boot({ release: "A" });
    const x = inspectImage(captureImage(m), [plugin]);
    expect(x.problems).toEqual(["the image carries no handover record: a kernel booted from it boots cold"]);
    expect(x.rootFdt).toBeNull();
    expect(x.radix).toEqual({ status: "unavailable", root: null, reason: "no record" });
    expect(x.memoryMap.owners).toEqual([]);
  });

  it("a radix child that is not page aligned is reported invalid, not thrown (the kernel would follow it)", () => {
    const image = handoverImage();
    const good = inspectImage(image, [plugin]);
    if (good.radix.status !== "walked") throw new Error("tree not walked");
    const root = Number(good.radix.root);
    // Slot 0 of the root: a child address 8 bytes into a page.
    const bad = inspectImage(patched(image, root, Uint8Array.of(8, 0x10, 0, 0, 0, 0, 0, 0)), [plugin]);
    expect(bad.radix).toMatchObject({ status: "invalid", root: good.radix.root });
    expect(bad.problems).toEqual([expect.stringMatching(/^radix tree: EINVAL: child 0x1008 in slot 0 of radix node/)]);
    // The subtrees are still read: the root FDT does not depend on the tree.
    expect(bad.subtrees.map((s) => s.name)).toEqual(good.subtrees.map((s) => s.name));
    expect(bad.memoryMap.nodes.flatMap((n) => n.regions).some((r) => r.kind === "preserved")).toBe(false);
  });
});
