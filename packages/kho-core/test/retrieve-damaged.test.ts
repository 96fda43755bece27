import { describe, expect, it } from "vitest";
import { FdtSw, getName, subnodes } from "../src/fdt/index.js";
import { type Ref, retrieveAt, retrieveFrom } from "../src/kho/index.js";

function u64le(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

/** A kho-v4 root with one subtree `name` whose preserved-data is 0x5000 and blob-size 64. */
function rootWith(name: string): Uint8Array {
  const sw = FdtSw.create(4096);
  sw.finishReservemap();
  sw.beginNode("");
  sw.propertyString("compatible", "kho-v4");
  sw.beginNode(name);
  sw.property("preserved-data", u64le(0x5000));
  sw.property("blob-size", u64le(64));
  sw.endNode();
  sw.endNode();
  return sw.finish();
}

/** Offset of the length word of the first property of the first child (struct block at off_dt_struct). */
function firstChildPropLen(fdt: Uint8Array, name: string): number {
  const struct = new DataView(fdt.buffer).getUint32(8);
  // Root: BEGIN_NODE + "\0" padded (8), compatible PROP (12 + "kho-v4\0" padded to 8) = 28; child BEGIN_NODE.
  const child = struct + 8 + 20;
  return child + 4 + ((name.length + 4) & ~3) + 4;
}

describe("kho_retrieve_subtree on a damaged root FDT", () => {
  it("a preserved-data property libfdt cannot read is -EINVAL (fdt_getprop returns NULL), not an exception", () => {
    const fdt = rootWith("sub");
    new DataView(fdt.buffer).setUint32(firstChildPropLen(fdt, "sub"), 0xfffffff0);
    const phys: Ref<number> = {};
    const size: Ref<number> = {};
    expect(retrieveFrom(fdt, "sub", phys, size)).toBe(-22);
    expect([phys.value, size.value]).toEqual([undefined, undefined]);
  });

  it("a child whose name is no text is read at its node offset: its phys and size, as retrieval by name would", () => {
    const fdt = rootWith("sub");
    const struct = new DataView(fdt.buffer).getUint32(8);
    fdt[struct + 28 + 4] = 0xff; // the first byte of the child's name
    const [node] = [...subnodes(fdt, 0)];
    const name = getName(fdt, node!);
    expect(retrieveFrom(fdt, name, {}, {})).toBe(-2);
    const phys: Ref<number> = {};
    const size: Ref<number> = {};
    expect(retrieveAt(fdt, node!, name, phys, size)).toBe(0);
    expect([phys.value, size.value]).toEqual([0x5000, 64]);
  });
});
