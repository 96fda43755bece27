import { describe, expect, expectTypeOf, it } from "vitest";
import { defineFdtNode, type FdtValue, khoRootFdt, prop } from "../src/abi/index.js";
import { isKhoError } from "../src/errors.js";
import { parseFdt, readHeader } from "../src/fdt/index.js";
import { FdtSw } from "../src/fdt/sw.js";

function expectKho(fn: () => unknown, code: string, where?: string): void {
  try {
    fn();
  } catch (e) {
    expect(isKhoError(e), String(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    if (where !== undefined) expect((e as { where?: string }).where).toBe(where);
    return;
  }
  throw new Error("expected a KhoError");
}

/** A root FDT written by hand with the codec, to feed the decoder variants. */
function rootBlob(mutate: (sw: FdtSw) => void): Uint8Array {
  const sw = FdtSw.create(4096);
  sw.finishReservemap();
  sw.beginNode("");
  mutate(sw);
  sw.endNode();
  return sw.finish().slice();
}

describe("root KHO FDT layout", () => {
  it("a fresh root encodes like kho_init() writes it before any subtree (152 bytes)", () => {
    const blob = khoRootFdt.encode({
      name: "",
      props: { compatible: "kho-v4", "preserved-memory-map": 0x1000n },
      children: [],
    });
    const h = readHeader(blob);
    expect([h.totalsize, h.size_dt_struct, h.size_dt_strings]).toEqual([152, 56, 32]);
    expect(Buffer.from(blob.subarray(h.off_dt_strings)).toString("latin1")).toBe("preserved-memory-map\0compatible\0");
  });

  it("round trips subtrees, newest first, with CPU-native u64 values", () => {
    const v = {
      name: "",
      props: { compatible: "kho-v4" as const, "preserved-memory-map": 0x7000n },
      children: [
        { name: "LUO", props: { "blob-size": 32n, "preserved-data": 0x9000n }, children: [] },
        { name: "kexec-metadata", props: { "blob-size": 73n, "preserved-data": 0x8000n }, children: [] },
      ],
    };
    const blob = khoRootFdt.encode(v);
    expect(khoRootFdt.decode(blob)).toEqual(v);
    const luo = parseFdt(blob).root.children[0]!;
    expect(luo.props.map((p) => p.name)).toEqual(["blob-size", "preserved-data"]);
    expect(Array.from(luo.props[0]!.value)).toEqual([32, 0, 0, 0, 0, 0, 0, 0]);
    expectTypeOf(khoRootFdt.decode(blob).children[0]!.props["preserved-data"]).toEqualTypeOf<bigint>();
  });

  it("refuses what the next kernel refuses", () => {
    const mm = (v: Uint8Array) => (sw: FdtSw) => {
      sw.property("compatible", Buffer.from("kho-v4\0"));
      sw.property("preserved-memory-map", v);
    };
    expectKho(() => khoRootFdt.decode(rootBlob(mm(new Uint8Array(4)))), "EINVAL", "/:preserved-memory-map");
    expectKho(
      () =>
        khoRootFdt.decode(
          rootBlob((sw) => {
            sw.property("compatible", Buffer.from("kho-v3\0"));
            sw.property("preserved-memory-map", new Uint8Array(8));
          }),
        ),
      "EPROTO",
      "/:compatible",
    );
    expectKho(
      () =>
        khoRootFdt.decode(
          rootBlob((sw) => {
            mm(new Uint8Array(8))(sw);
            sw.beginNode("LUO");
            sw.property("preserved-data", new Uint8Array(8));
            sw.endNode();
          }),
        ),
      "EINVAL",
      "/LUO:blob-size",
    );
    expectKho(() => khoRootFdt.decode(new Uint8Array(64)), "EINVAL");
  });

  it("validates values before encoding", () => {
    expectKho(
      () =>
        khoRootFdt.encode({
          name: "",
          props: { compatible: "kho-v4", "preserved-memory-map": 1n },
          children: [{ name: "x", props: { "blob-size": -1n, "preserved-data": 0n }, children: [] }],
        }),
      "ERANGE",
      "/x:blob-size",
    );
  });
});

describe("other property types", () => {
  const memblockLike = defineFdtNode("/", {
    compatible: ["memblock-v1"],
    props: {
      cells: prop.cells(2),
      names: prop.strings({ optional: true }),
      blob: prop.bytes(undefined, { optional: true }),
      label: prop.string({ optional: true }),
    },
    children: defineFdtNode("<name>", {
      compatible: ["reserve-mem-v1"],
      props: { start: prop.u64(), size: prop.u64() },
    }),
  });

  it("round trips strings, string lists, BE cells, bytes, optional props and nested nodes", () => {
    type V = FdtValue<typeof memblockLike>;
    expectTypeOf<V["props"]["names"]>().toEqualTypeOf<string[] | undefined>();
    const v: V = {
      name: "",
      props: { compatible: "memblock-v1", cells: [1, 0xdeadbeef], names: ["a", "bc"], label: "l" },
      children: [{ name: "r0", props: { compatible: "reserve-mem-v1", start: 1n << 40n, size: 4096n }, children: [] }],
    };
    const blob = memblockLike.encode(v);
    expect(memblockLike.decode(blob)).toEqual(v);
    expect(Array.from(parseFdt(blob).root.props[1]!.value)).toEqual([0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef]);
  });
});
