/**
 * Valid DTBs of the shapes that stress a DTB reader or printer: deep
 * (nodes nested N levels), wide (N siblings), many properties in one node,
 * and a large blob of ordinary device nodes. Written directly as v17 blobs
 * in dtc's layout, without recursion, so any depth can be built.
 */
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_MAGIC, FDT_PROP } from "../fdt/constants.js";

class Blob {
  bytes = new Uint8Array(1 << 16);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.bytes.subarray(0, this.length));
    this.bytes = b;
  }
  word(v: number): void {
    this.room(4);
    new DataView(this.bytes.buffer).setUint32(this.length, v >>> 0);
    this.length += 4;
  }
  raw(b: Uint8Array): void {
    this.room(b.length + 3);
    this.bytes.set(b, this.length);
    this.length += b.length;
    while (this.length % 4) this.bytes[this.length++] = 0;
  }
}

const enc = new TextEncoder();

/** A struct block and its strings, written tag by tag. */
export class DtbWriter {
  private readonly st = new Blob();
  private readonly strings: number[] = [];
  private readonly nameOff = new Map<string, number>();

  begin(name: string): this {
    this.st.word(FDT_BEGIN_NODE);
    this.st.raw(enc.encode(`${name}\0`));
    return this;
  }
  end(): this {
    this.st.word(FDT_END_NODE);
    return this;
  }
  prop(name: string, value: Uint8Array): this {
    let off = this.nameOff.get(name);
    if (off === undefined) {
      off = this.strings.length;
      this.strings.push(...enc.encode(name), 0);
      this.nameOff.set(name, off);
    }
    this.st.word(FDT_PROP);
    this.st.word(value.length);
    this.st.word(off);
    this.st.raw(value);
    return this;
  }
  /** The finished blob: header, empty reserve map, struct block, strings. */
  finish(): Uint8Array {
    this.st.word(FDT_END);
    const offStruct = 40 + 16;
    const offStrings = offStruct + this.st.length;
    const total = offStrings + this.strings.length;
    const out = new Uint8Array(total);
    const dv = new DataView(out.buffer);
    const hdr = [FDT_MAGIC, total, offStruct, offStrings, 40, 17, 16, 0, this.strings.length, this.st.length];
    for (const [i, v] of hdr.entries()) dv.setUint32(i * 4, v);
    out.set(this.st.bytes.subarray(0, this.st.length), offStruct);
    out.set(this.strings, offStrings);
    return out;
  }
}

export function u32s(...v: number[]): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  const dv = new DataView(out.buffer);
  for (const [i, x] of v.entries()) dv.setUint32(i * 4, x >>> 0);
  return out;
}

export function str(s: string): Uint8Array {
  return enc.encode(`${s}\0`);
}

/** `depth` nested nodes under the root, each named `name` and holding `props` (none by default). */
export function deepDtb(depth: number, name = "n", props: readonly [string, Uint8Array][] = []): Uint8Array {
  const w = new DtbWriter().begin("");
  for (let i = 0; i < depth; i++) {
    w.begin(name);
    for (const [k, v] of props) w.prop(k, v);
  }
  for (let i = 0; i <= depth; i++) w.end();
  return w.finish();
}

/** `count` empty siblings under the root, named `n0`, `n1`, ... */
export function wideDtb(count: number): Uint8Array {
  const w = new DtbWriter().begin("");
  for (let i = 0; i < count; i++) w.begin(`n${i}`).end();
  return w.end().finish();
}

/** `count` one-cell properties `p0`, `p1`, ... in the root. */
export function manyPropsDtb(count: number): Uint8Array {
  const w = new DtbWriter().begin("");
  for (let i = 0; i < count; i++) w.prop(`p${i}`, u32s(i));
  return w.end().finish();
}

/**
 * About `bytes` of ordinary devices, 64 per bus node: strings, cells, bytes
 * and a child node each. dtc prints it without warnings, so its time is its
 * reading and printing alone.
 */
export function largeDtb(bytes: number): Uint8Array {
  const w = new DtbWriter().begin("");
  w.prop("#address-cells", u32s(2)).prop("#size-cells", u32s(2));
  const data = new Uint8Array(17);
  for (let i = 0, size = 0; size < bytes; i++, size += 204) {
    if (i % 64 === 0) {
      if (i) w.end();
      w.begin(`bus-${(i / 64).toString(16)}`);
    }
    w.begin(`device-${i.toString(16)}`);
    w.prop("compatible", enc.encode(`vendor,device-${i % 7}\0vendor,generic\0`));
    w.prop("cells", u32s(0, i * 0x1000, 0, 0x1000));
    w.prop("mode", u32s(0, i % 256, 4));
    w.prop("status", str("okay"));
    for (let k = 0; k < data.length; k++) data[k] = (i + k) & 0xff;
    w.prop("data", data.subarray(0, (i % 13) + 5));
    w.begin("port")
      .prop("label", str(`port-${i}`))
      .end();
    w.end();
  }
  return w.end().end().finish();
}
