import { describe, expect, expectTypeOf, it } from "vitest";
import {
  defineAbi,
  defineFdtNode,
  defineStruct,
  defineSubtree,
  field,
  perPageSize,
  prop,
  type SubtreeVersion,
} from "../src/index.js";

const pair = defineStruct("pair_ser", { tag: field.char(8), value: field.u64() }, { packed: true });
const pairAbi = defineAbi({
  name: "pair",
  title: "pair",
  summary: "s",
  compatible: ["pair-v1"],
  version: "1",
  layout: pair,
});

describe("defineSubtree (issue 9 item 1)", () => {
  it("derives a typed decode/encode from a struct layout; describe shows the fields or the decode error", () => {
    const v = defineSubtree({ abi: pairAbi, identify: () => "pair-v1" });
    expectTypeOf(v).toEqualTypeOf<SubtreeVersion<{ tag: string; value: bigint }>>();
    const bytes = v.encode({ tag: "t", value: 1n << 40n });
    expect(bytes).toEqual(pair.encode({ tag: "t", value: 1n << 40n }));
    expect(v.decode(bytes)).toEqual({ tag: "t", value: 1n << 40n });
    expect(v.describe(bytes)).toEqual({ fields: { tag: "t", value: "0x10000000000" } });
    expect(v.describe(bytes.subarray(0, 10))).toEqual({
      fields: null,
      problems: [expect.stringMatching(/^not a valid pair-v1 blob: 10 bytes, struct pair_ser needs 16/)],
    });
  });

  it("an FDT subtree identifies by its root compatible and decodes through its node layout", () => {
    const node = defineFdtNode("/", { compatible: ["tree-v1"], props: { size: prop.u64() } });
    const v = defineSubtree({ abi: defineAbi({ name: "tree", title: "t", summary: "s", version: "1", layout: node }) });
    const blob = v.encode({ name: "", props: { compatible: "tree-v1", size: 7n }, children: [] });
    expect(v.identify(blob)).toBe("tree-v1");
    expect(v.identify(Uint8Array.of(1, 2, 3))).toBeNull();
    expect(v.decode(blob).props.size).toBe(7n);
  });

  it("refuses what it cannot derive: a struct without identify, a page-size family without a codec", () => {
    expect(() => defineSubtree({ abi: pairAbi })).toThrowError(/a struct subtree needs identify/);
    const family = perPageSize("fam_ser", () => pair);
    const abi = defineAbi({
      name: "fam",
      title: "f",
      summary: "s",
      compatible: ["fam-v1"],
      version: "1",
      layout: family,
    });
    expect(() => defineSubtree({ abi, identify: () => "fam-v1" })).toThrowError(/give decode and encode/);
    const own = defineSubtree({
      abi,
      identify: () => "fam-v1",
      decode: (b) => pair.decode(b).value,
      encode: (n: bigint) => pair.encode({ tag: "", value: n }),
    });
    expect(own.decode(own.encode(9n))).toBe(9n);
  });
});
