import { kho_data, SETUP_KEXEC_KHO, setup_data } from "../abi/x86-setup-data.js";
import type { Arch } from "../arch.js";
import { isKhoError, KhoError } from "../errors.js";
import { checkFull } from "../fdt/check.js";
import { findProp, pathOffset } from "../fdt/ro.js";
import { FdtSw, u32be } from "../fdt/sw.js";
import type { HandoverRecord } from "../kho/in.js";

/** How the record reaches the next kernel: x86 setup_data, or DT /chosen. */
export type HandoverFormat = "x86" | "dt";

/** x86 passes the record as setup_data; arm64 in the boot devicetree's /chosen. */
export function handoverFormatOf(arch: Arch): HandoverFormat {
  return arch === "x86" ? "x86" : "dt";
}

/** The property names DT architectures use under /chosen. */
export const CHOSEN_KHO_FDT = "linux,kho-fdt";
export const CHOSEN_KHO_SCRATCH = "linux,kho-scratch";

/**
 * x86: one setup_data entry of type SETUP_KEXEC_KHO (header then
 * `struct kho_data`), `next` = 0 as the last entry of the list.
 */
export function encodeX86Record(rec: HandoverRecord): Uint8Array {
  const head = setup_data.encode({ next: 0n, type: SETUP_KEXEC_KHO, len: kho_data.size });
  const body = kho_data.encode({
    fdt_addr: BigInt(rec.fdtPa),
    fdt_size: BigInt(rec.fdtSize),
    scratch_addr: BigInt(rec.scratchPa),
    scratch_size: BigInt(rec.scratchSize),
  });
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

function safe(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new KhoError("ERANGE", `${what} 0x${v.toString(16)} is beyond 53 bits`, what);
  return Number(v);
}

/**
 * Reads an x86 setup_data KHO entry; another type is EINVAL. Like add_kho(),
 * `len` is not checked: `struct kho_data` is read whatever it says.
 */
export function decodeX86Record(bytes: Uint8Array): HandoverRecord {
  const head = setup_data.decode(bytes);
  if (head.type !== SETUP_KEXEC_KHO)
    throw new KhoError("EINVAL", `setup_data type ${head.type} is not a KHO record`, "setup_data");
  const d = kho_data.decode(bytes.subarray(setup_data.size));
  return {
    fdtPa: safe(d.fdt_addr, "kho_data.fdt_addr"),
    fdtSize: safe(d.fdt_size, "kho_data.fdt_size"),
    scratchPa: safe(d.scratch_addr, "kho_data.scratch_addr"),
    scratchSize: safe(d.scratch_size, "kho_data.scratch_size"),
  };
}

function cells(v: number, n: number): Uint8Array {
  const out = new Uint8Array(4 * n);
  let x = BigInt(v);
  for (let i = n - 1; i >= 0; i--) {
    out.set(u32be(Number(x & 0xffffffffn)), 4 * i);
    x >>= 32n;
  }
  return out;
}

function readCells(v: Uint8Array, at: number, n: number): bigint {
  let x = 0n;
  for (let i = 0; i < n; i++)
    x = (x << 32n) | BigInt(new DataView(v.buffer, v.byteOffset + at + 4 * i, 4).getUint32(0, false));
  return x;
}

/**
 * DT architectures: a boot devicetree whose /chosen carries the two
 * properties as <addr size> in the root's #address-cells / #size-cells
 * (big-endian cells, unlike everything KHO itself stores).
 */
export function encodeDtRecord(rec: HandoverRecord, addressCells = 2, sizeCells = 2): Uint8Array {
  const sw = FdtSw.create(4096);
  sw.finishReservemap();
  sw.beginNode("");
  sw.property("#address-cells", u32be(addressCells));
  sw.property("#size-cells", u32be(sizeCells));
  sw.beginNode("chosen");
  const pair = (a: number, s: number): Uint8Array => {
    const out = new Uint8Array(4 * (addressCells + sizeCells));
    out.set(cells(a, addressCells));
    out.set(cells(s, sizeCells), 4 * addressCells);
    return out;
  };
  sw.property(CHOSEN_KHO_FDT, pair(rec.fdtPa, rec.fdtSize));
  sw.property(CHOSEN_KHO_SCRATCH, pair(rec.scratchPa, rec.scratchSize));
  sw.endNode();
  sw.endNode();
  const blob = sw.finish();
  return blob.slice(0, new DataView(blob.buffer, blob.byteOffset).getUint32(4, false));
}

/** OF_ROOT_NODE_ADDR_CELLS_DEFAULT and OF_ROOT_NODE_SIZE_CELLS_DEFAULT: a root without the properties. */
const ROOT_CELLS_DEFAULT = 1;

/** The root's `#address-cells` / `#size-cells` as early_init_dt_scan_root() reads them: the first cell, if any. */
function rootCells(blob: Uint8Array, name: string): number {
  const p = findProp(blob, 0, name);
  return p && p.value.length >= 4 ? Number(readCells(p.value, 0, 1)) : ROOT_CELLS_DEFAULT;
}

/**
 * The early DT scan: both properties present with exactly (addr + size)
 * cells, else null (KHO is not populated, the kernel boots cold).
 */
export function decodeDtRecord(blob: Uint8Array): HandoverRecord | null {
  try {
    checkFull(blob);
    const na = rootCells(blob, "#address-cells");
    const ns = rootCells(blob, "#size-cells");
    const chosen = pathOffset(blob, "/chosen");
    const f = findProp(blob, chosen, CHOSEN_KHO_FDT);
    const s = findProp(blob, chosen, CHOSEN_KHO_SCRATCH);
    const len = 4 * (na + ns);
    if (!f || !s || f.value.length !== len || s.value.length !== len) return null;
    return {
      fdtPa: safe(readCells(f.value, 0, na), CHOSEN_KHO_FDT),
      fdtSize: safe(readCells(f.value, 4 * na, ns), CHOSEN_KHO_FDT),
      scratchPa: safe(readCells(s.value, 0, na), CHOSEN_KHO_SCRATCH),
      scratchSize: safe(readCells(s.value, 4 * na, ns), CHOSEN_KHO_SCRATCH),
    };
  } catch (e) {
    if (isKhoError(e)) return null;
    throw e;
  }
}

export function encodeRecord(format: HandoverFormat, rec: HandoverRecord): Uint8Array {
  return format === "x86" ? encodeX86Record(rec) : encodeDtRecord(rec);
}

/** Decodes a record; an x86 record that is not KHO is an error, a DT without the properties null. */
export function decodeRecord(format: HandoverFormat, bytes: Uint8Array): HandoverRecord | null {
  return format === "x86" ? decodeX86Record(bytes) : decodeDtRecord(bytes);
}
