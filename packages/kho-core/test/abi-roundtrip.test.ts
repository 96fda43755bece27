import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AnyField,
  type AnyStruct,
  ArrayField,
  BytesField,
  CharField,
  defineStruct,
  field,
  IntField,
  kho_block_header_ser,
  kho_data,
  kho_scratch,
  kho_vmalloc,
  kho_vmalloc_chunk,
  StructLayout,
  setup_data,
} from "../src/abi/index.js";
import { isKhoError } from "../src/errors.js";

/** Values a field accepts, derived from the same declaration the codec uses. */
function arbitrary(f: AnyField): fc.Arbitrary<unknown> {
  if (f instanceof IntField) {
    if (f.oneOf !== undefined) return fc.constantFrom(...f.oneOf);
    return f.bits === 64
      ? fc.bigInt({ min: f.min as bigint, max: f.max as bigint })
      : fc.integer({ min: f.min as number, max: f.max as number });
  }
  if (f instanceof CharField) {
    return fc
      .string({ unit: "binary", maxLength: f.maxBytes })
      .map((s) => s.replaceAll("\0", ""))
      .filter((s) => new TextEncoder().encode(s).length <= f.maxBytes);
  }
  if (f instanceof BytesField) return fc.uint8Array({ minLength: f.size, maxLength: f.size });
  if (f instanceof ArrayField) return fc.array(arbitrary(f.element), { minLength: f.count, maxLength: f.count });
  if (f instanceof StructLayout) {
    return fc.record(Object.fromEntries(f.members.map((m) => [m.name, arbitrary(m.field)])));
  }
  throw new Error(`no arbitrary for ${f.typeName}`);
}

const inner = defineStruct("inner", { tag: field.u8(), when: field.u64({ endian: "be" }) }, { packed: false });
const everything = defineStruct(
  "everything",
  {
    a: field.u8(),
    b: field.u16({ endian: "be" }),
    c: field.u32({ min: 10, max: 1000 }),
    d: field.u64(),
    p: field.phys(),
    kind: field.u16({ oneOf: [1, 2, 7] }),
    name: field.char(12),
    full: field.char(5, { nul: "optional" }),
    compat: field.charFor("luo-v5", 8),
    raw: field.bytes(6),
    list: field.array(field.u16(), 3),
    nested: inner,
    nestedList: field.array(inner, 2),
  },
  { packed: false },
);
const packedToo = defineStruct("packed_too", { x: field.u8(), nested: inner, y: field.u32() }, { packed: true });

const layouts: AnyStruct[] = [
  kho_block_header_ser,
  kho_scratch,
  kho_data,
  setup_data,
  kho_vmalloc,
  kho_vmalloc_chunk.at(4096),
  everything,
  packedToo,
];

describe.each(layouts.map((l) => [l.name, l] as const))("%s round trips", (_, layout) => {
  it("decode(encode(v)) equals v", () => {
    fc.assert(
      fc.property(arbitrary(layout), (v) => {
        const typed = v as Parameters<typeof layout.encode>[0];
        const bytes = layout.encode(typed);
        expect(bytes.length).toBe(layout.size);
        expect(layout.decode(bytes)).toEqual(typed);
      }),
      { numRuns: layout.size > 1000 ? 20 : 200 },
    );
  });

  it("random bytes decode to a value that re-encodes to them, or to a KhoError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: layout.size + 4 }), (bytes) => {
        let v: ReturnType<typeof layout.decode>;
        try {
          v = layout.decode(bytes);
        } catch (e) {
          expect(isKhoError(e), String(e)).toBe(true);
          return;
        }
        expect(layout.encode(v)).toEqual(bytes.subarray(0, layout.size));
      }),
      { numRuns: layout.size > 1000 ? 20 : 300 },
    );
  });
});

it("random bytes of exactly the size often decode (the property is not vacuous)", () => {
  let decoded = 0;
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      decoded += kho_vmalloc.decode(b) === undefined ? 0 : 1;
    }),
    { numRuns: 50 },
  );
  expect(decoded).toBe(50);
});
