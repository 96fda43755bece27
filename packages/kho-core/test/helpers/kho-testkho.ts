import { kho_vmalloc } from "../../src/abi/index.js";
import { KhoError } from "../../src/errors.js";
import { FdtSw, findProp, nodeCheckCompatible, pathOffset } from "../../src/fdt/index.js";
import type { Kernel } from "../../src/kexec/index.js";
import { type Folio, type KhoVmalloc, VM_ALLOC, type VmArea } from "../../src/kho/index.js";
import { getOrder } from "../../src/mem/index.js";
import { csumPartial, le32, outOf, type Rng } from "./kho-machine.js";

/** The scenario of the kernel's KHO test module (spec 11), rebuilt on the simulator. */
export const KHO_TEST_COMPAT = "kho-test-v1";
export const KHO_TEST_MAGIC = 0x4b484f21;
export const KHO_TEST_NODE = "kho_test";

export interface TestKhoState {
  readonly folios: Folio[];
  readonly csum: number;
  /** Set once preserved. */
  fdt?: Folio;
  area?: VmArea;
  vmalloc?: KhoVmalloc;
}

/** Default budget: two of the largest buddy blocks. */
export function defaultBudget(k: Kernel): number {
  return 2 * k.mem.pageSize * 2 ** k.mem.maxPageOrder;
}

/**
 * Allocates folios of random order (uniform over the NR_PAGE_ORDERS orders)
 * filled with seeded bytes until `budget` bytes, shrinking the last one so
 * the total never exceeds the budget, and keeps a running checksum.
 */
export function generateData(k: Kernel, rng: Rng, budget: number): TestKhoState {
  const ps = k.mem.pageSize;
  const nrOrders = k.mem.maxPageOrder + 1;
  const folios: Folio[] = [];
  let used = 0;
  let csum = 0;
  while (used < budget) {
    let order = rng.below(nrOrders);
    if (used + ps * 2 ** order > budget) {
      order = getOrder(budget - used, k.mem.pageShift);
      if (order) order--;
    }
    const size = ps * 2 ** order;
    const pa = k.alloc.alloc(order);
    const bytes = new Uint8Array(size);
    rng.fill(bytes);
    k.mem.write(pa, bytes);
    csum = csumPartial(bytes, csum);
    folios.push({ pa, order });
    used += size;
  }
  return { folios, csum };
}

/** The little-endian u64 array `pa | order` lives in the area's pages. */
function writeInfo(k: Kernel, area: VmArea, i: number, value: number): void {
  const byte = i * 8;
  const page = area.pages[Math.floor(byte / k.mem.pageSize)]!;
  k.mem.writeU64(page + (byte % k.mem.pageSize), value);
}

export function readInfo(k: Kernel, area: VmArea, i: number): number {
  const byte = i * 8;
  const page = area.pages[Math.floor(byte / k.mem.pageSize)]!;
  return k.mem.readU64Number(page + (byte % k.mem.pageSize));
}

/** What preserveTestData needs injected to make a step fail. */
export interface PreserveHooks {
  /** Runs before folio `i` is preserved; may replace it (a folio the kernel refuses). */
  folioAt?(i: number, f: Folio): Folio;
}

/**
 * The preserve half: an FDT folio (nr_folios * 8 + PAGE_SIZE bytes rounded to
 * a folio) preserved first; a vmalloc'd array preserved, then every folio
 * preserved and recorded as `pa | order`; the FDT written with the
 * sequential-write API; the subtree added with the FDT's totalsize. Any
 * failure unwinds in reverse: folios preserved so far, the array, the FDT
 * folio; then the error is rethrown.
 */
export function preserveTestData(k: Kernel, st: TestKhoState, hooks: PreserveHooks = {}): void {
  const out = outOf(k);
  const ps = k.mem.pageSize;
  const n = st.folios.length;
  const fdtSize = n * 8 + ps;
  const fdt: Folio = {
    pa: k.alloc.alloc(getOrder(fdtSize, k.mem.pageShift)),
    order: getOrder(fdtSize, k.mem.pageShift),
  };
  const nrPages = Math.ceil((n * 8) / ps);
  const area: VmArea = {
    nrPages,
    order: 0,
    vmFlags: VM_ALLOC,
    pages: Array.from({ length: nrPages }, () => k.alloc.alloc(0)),
  };
  const freeArea = (): void => {
    for (const pa of area.pages) k.alloc.freeBlock(pa, 0);
  };
  let preserved = 0;
  let v: KhoVmalloc | null = null;
  let fdtPreserved = false;
  try {
    out.preserveFolio(fdt);
    fdtPreserved = true;
    v = out.preserveVmalloc(area);
    for (let i = 0; i < n; i++) {
      const f = hooks.folioAt ? hooks.folioAt(i, st.folios[i]!) : st.folios[i]!;
      writeInfo(k, area, i, f.pa | f.order);
      out.preserveFolio(f);
      preserved++;
    }
    const sw = FdtSw.create(fdtSize);
    sw.finishReservemap();
    sw.beginNode("");
    sw.propertyString("compatible", KHO_TEST_COMPAT);
    // Raw CPU-native values, as the module passes &magic and friends to fdt_property.
    sw.property("magic", Uint8Array.from(le32(KHO_TEST_MAGIC)));
    sw.beginNode("data");
    sw.property("nr_folios", Uint8Array.from(le32(n)));
    sw.property("folios_info", kho_vmalloc.encode(v));
    sw.property("csum", Uint8Array.from(le32(st.csum)));
    sw.endNode();
    sw.endNode();
    const blob = sw.finish();
    const totalsize = new DataView(blob.buffer, blob.byteOffset).getUint32(4, false);
    k.mem.write(fdt.pa, blob.subarray(0, totalsize));
    out.addSubtree(KHO_TEST_NODE, fdt.pa, totalsize);
  } catch (e) {
    for (let i = 0; i < preserved; i++) out.unpreserveFolio(st.folios[i]!);
    if (v) out.unpreserveVmalloc(v);
    freeArea();
    if (fdtPreserved) out.unpreserveFolio(fdt);
    k.alloc.freeBlock(fdt.pa, fdt.order);
    throw e;
  }
  st.fdt = fdt;
  st.area = area;
  st.vmalloc = v;
}

export interface RestoreResult {
  readonly nrFolios: number;
  /** Every folio kho_restore_folio returned, the one with a wrong order included. */
  readonly restored: Folio[];
  readonly csum: number;
  readonly storedCsum: number;
}

/**
 * The restore half in the next kernel: retrieve `kho_test`, check its
 * compatible and magic, restore the array, restore every folio checking
 * its order, and recompute the checksum. Throws EINVAL where the module
 * would return it.
 */
export function restoreTestData(k: Kernel): RestoreResult {
  if (!k.in) throw new KhoError("ENOENT", "not a KHO boot");
  const { phys, size } = k.in.getSubtree(KHO_TEST_NODE);
  const fdt = k.mem.read(phys, size);
  if (!nodeCheckCompatible(fdt, 0, KHO_TEST_COMPAT)) throw new KhoError("EINVAL", "kho_test: wrong compatible");
  const magic = findProp(fdt, 0, "magic");
  if (
    magic?.len !== 4 ||
    new DataView(magic.value.buffer, magic.value.byteOffset, 4).getUint32(0, true) !== KHO_TEST_MAGIC
  )
    throw new KhoError("EINVAL", "kho_test: wrong magic");
  const data = pathOffset(fdt, "/data");
  const u32 = (name: string): number => {
    const p = findProp(fdt, data, name);
    if (p?.len !== 4) throw new KhoError("EINVAL", `kho_test: bad ${name}`);
    return new DataView(p.value.buffer, p.value.byteOffset, 4).getUint32(0, true);
  };
  const nrFolios = u32("nr_folios");
  const storedCsum = u32("csum");
  const info = findProp(fdt, data, "folios_info");
  if (!info || info.len !== kho_vmalloc.size) throw new KhoError("EINVAL", "kho_test: bad folios_info");
  const area = k.in.restoreVmalloc(kho_vmalloc.decode(info.value));
  if (!area) throw new KhoError("EINVAL", "kho_test: restore of folios_info failed");
  const ps = k.mem.pageSize;
  const restored: Folio[] = [];
  let csum = 0;
  for (let i = 0; i < nrFolios; i++) {
    const v = readInfo(k, area, i);
    const order = v % ps;
    const pa = v - order;
    const folio = k.in.restoreFolio(pa);
    if (!folio) break;
    restored.push(folio);
    if (folio.order !== order) break;
    csum = csumPartial(k.mem.read(pa, ps * 2 ** order), csum);
  }
  return { nrFolios, restored, csum, storedCsum };
}
