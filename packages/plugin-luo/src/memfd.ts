import { hex, KhoError, VM_ALLOC } from "@khosim/kho-core";
import type { PageAllocator, PhysMem } from "@khosim/kho-core/mem";
import {
  MEMFD_LUO_ALL_SEALS,
  MEMFD_LUO_FH_COMPATIBLE,
  MEMFD_LUO_FOLIO_DIRTY,
  MEMFD_LUO_FOLIO_PFN_BITS,
  MEMFD_LUO_FOLIO_UPTODATE,
  memfd_luo_folio_ser,
  memfd_luo_ser,
} from "./abi/index.js";
import type { LuoEnv } from "./env.js";
import type { LiveFile, LiveupdateFileHandler, LiveupdateFileOpArgs } from "./luo_file.js";

const PFN_MASK = (1n << BigInt(MEMFD_LUO_FOLIO_PFN_BITS)) - 1n;

/**
 * A simulated memfd: a shmem file whose contents live in order-0 folios of
 * simulated memory, allocated as they are first written. `hugetlb` stands
 * for MFD_HUGETLB, which the memfd handler refuses.
 */
export class Memfd {
  size = 0;
  pos = 0;
  seals = 0;
  /** Folio head address by page index in the file. */
  readonly folios = new Map<number, number>();

  constructor(
    private readonly mem: PhysMem,
    private readonly alloc: PageAllocator,
    readonly name: string,
    readonly hugetlb = false,
  ) {}

  /** pwrite: grows the file; pages are allocated (zeroed) on first touch. */
  pwrite(offset: number, bytes: Uint8Array): void {
    const ps = this.mem.pageSize;
    for (let done = 0; done < bytes.length; ) {
      const at = offset + done;
      const index = Math.floor(at / ps);
      let pa = this.folios.get(index);
      if (pa === undefined) {
        pa = this.alloc.alloc(0);
        this.mem.zero(pa, ps);
        this.folios.set(index, pa);
      }
      const n = Math.min(ps - (at % ps), bytes.length - done);
      this.mem.write(pa + (at % ps), bytes.subarray(done, done + n));
      done += n;
    }
    this.size = Math.max(this.size, offset + bytes.length);
  }

  /** write at the file position, which advances. */
  write(bytes: Uint8Array | string): void {
    const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    this.pwrite(this.pos, b);
    this.pos += b.length;
  }

  /** pread: holes read as zeros, nothing past the size. */
  pread(offset: number, len: number): Uint8Array {
    const ps = this.mem.pageSize;
    const end = Math.min(this.size, offset + len);
    const out = new Uint8Array(Math.max(0, end - offset));
    for (let at = offset; at < end; ) {
      const n = Math.min(ps - (at % ps), end - at);
      const pa = this.folios.get(Math.floor(at / ps));
      if (pa !== undefined) out.set(this.mem.read(pa + (at % ps), n), at - offset);
      at += n;
    }
    return out;
  }

  /** The whole contents as text. */
  text(): string {
    return new TextDecoder().decode(this.pread(0, this.size));
  }
}

/** What the handler keeps for a preserved memfd between preserve and unpreserve. */
interface Preserved {
  readonly serPa: number;
  readonly array: { first: bigint; total_pages: number; flags: number; order: number } | null;
  readonly arrayPages: readonly number[];
}

/** Address of entry `k` of a folio array spread over `pages`. */
function folioSlot(pages: readonly number[], k: number, pageSize: number): number {
  const at = k * memfd_luo_folio_ser.size;
  return pages[Math.floor(at / pageSize)]! + (at % pageSize);
}

/**
 * memfd_luo_preserve: the struct in a kho_alloc_preserve'd page; every
 * folio preserved whole; the folio array (16 bytes per folio, in index
 * order) in vmalloc'd pages preserved with kho_preserve_vmalloc.
 */
function preserve(args: LiveupdateFileOpArgs): void {
  const memfd = args.file as Memfd;
  const { env } = args;
  const kho = env.kho();
  const ps = env.mem.pageSize;
  if (memfd.seals & ~MEMFD_LUO_ALL_SEALS) throw new KhoError("EOPNOTSUPP", `seals ${hex(memfd.seals)} unsupported`);
  const indices = [...memfd.folios.keys()].sort((a, b) => a - b);
  const serPa = kho.allocPreserve(memfd_luo_ser.size);
  const done: number[] = [];
  const arrayPages: number[] = [];
  let array: Preserved["array"] = null;
  try {
    for (const i of indices) {
      kho.preserveFolio({ pa: memfd.folios.get(i)!, order: 0 });
      done.push(i);
    }
    if (indices.length > 0) {
      const bytes = indices.length * memfd_luo_folio_ser.size;
      const nr = Math.ceil(bytes / ps);
      for (let k = 0; k < nr; k++) {
        const pa = env.alloc.alloc(0);
        env.mem.zero(pa, ps);
        arrayPages.push(pa);
      }
      indices.forEach((index, k) => {
        const at = folioSlot(arrayPages, k, ps);
        const flags = BigInt(MEMFD_LUO_FOLIO_DIRTY | MEMFD_LUO_FOLIO_UPTODATE);
        const pfn = BigInt(memfd.folios.get(index)! / ps);
        const pfnFlags = pfn | (flags << BigInt(MEMFD_LUO_FOLIO_PFN_BITS));
        memfd_luo_folio_ser.writeAt(env.mem, at, { pfn_flags: pfnFlags, index: BigInt(index) });
      });
      array = kho.preserveVmalloc({ nrPages: nr, order: 0, vmFlags: VM_ALLOC, pages: arrayPages });
    }
    memfd_luo_ser.writeAt(env.mem, serPa, {
      pos: BigInt(memfd.pos),
      size: BigInt(memfd.size),
      seals: memfd.seals,
      flags: 0,
      nr_folios: BigInt(indices.length),
      folios: array ?? { first: 0n, total_pages: 0, flags: 0, order: 0 },
    });
  } catch (e) {
    for (const i of done) kho.unpreserveFolio({ pa: memfd.folios.get(i)!, order: 0 });
    for (const pa of arrayPages) env.alloc.freeBlock(pa, 0);
    kho.unpreserveFree(serPa);
    throw e;
  }
  args.serializedData = BigInt(serPa);
  args.privateData = { serPa, array, arrayPages } satisfies Preserved;
}

/** memfd_luo_unpreserve: with serialized_data zeroed by a rollback it WARNs and leaves everything preserved. */
function unpreserve(args: LiveupdateFileOpArgs): void {
  if (args.serializedData === 0n) return;
  const memfd = args.file as Memfd;
  const { env } = args;
  const kho = env.kho();
  const p = args.privateData as Preserved;
  for (const pa of memfd.folios.values()) kho.unpreserveFolio({ pa, order: 0 });
  if (p.array) kho.unpreserveVmalloc(p.array);
  for (const pa of p.arrayPages) env.alloc.freeBlock(pa, 0);
  kho.unpreserveFree(p.serPa);
}

/**
 * memfd_luo_freeze: the file position may have moved since preserve.
 * LUO zeroes serialized_data when it rolls a failed reboot back, so a
 * memfd that went through a rollback can never be frozen again (the
 * kernel WARNs and returns EINVAL): every later reboot aborts.
 */
function freeze(args: LiveupdateFileOpArgs): void {
  const serPa = Number(args.serializedData);
  if (serPa === 0) throw new KhoError("EINVAL", "memfd_luo_freeze: serialized_data is 0");
  args.env.mem.writeU64(serPa + memfd_luo_ser.offsetOf("pos"), (args.file as Memfd).pos);
}

/**
 * memfd_luo_retrieve: the struct read and checked (flags 0, known seals,
 * folio count matching the array), the array restored, every folio with a
 * pfn restored into a new memfd with the same size, position and seals.
 */
function retrieve(args: LiveupdateFileOpArgs): void {
  const { env } = args;
  const khoIn = env.khoIn;
  if (!khoIn) throw new KhoError("EINVAL", "not a KHO boot");
  const serPa = Number(args.serializedData);
  const ser = memfd_luo_ser.readAt(env.mem, serPa);
  if (ser.flags !== 0 || ser.seals & ~MEMFD_LUO_ALL_SEALS)
    throw new KhoError("EINVAL", `memfd_luo_ser flags ${ser.flags} seals ${hex(ser.seals)}`, hex(serPa));
  const memfd = new Memfd(env.mem, env.alloc, "memfd:luo");
  const ps = env.mem.pageSize;
  if (ser.nr_folios > 0n) {
    const area = khoIn.restoreVmalloc(ser.folios);
    if (!area) throw new KhoError("EINVAL", "memfd folio array does not restore", hex(serPa));
    const nr = Number(ser.nr_folios);
    if (nr * memfd_luo_folio_ser.size > area.nrPages * ps)
      throw new KhoError("EINVAL", `nr_folios ${nr} exceeds its ${area.nrPages}-page array`, hex(serPa));
    for (let k = 0; k < nr; k++) {
      const e = memfd_luo_folio_ser.readAt(env.mem, folioSlot(area.pages, k, ps));
      const pfn = Number(e.pfn_flags & PFN_MASK);
      if (pfn === 0) continue;
      const folio = khoIn.restoreFolio(pfn * ps);
      if (!folio) throw new KhoError("EINVAL", `folio at pfn ${hex(pfn)} was not preserved`, hex(serPa));
      memfd.folios.set(Number(e.index), folio.pa);
    }
    for (const pa of area.pages) env.alloc.freeBlock(pa, 0);
  }
  memfd.size = Number(ser.size);
  memfd.pos = Number(ser.pos);
  memfd.seals = ser.seals;
  khoIn.restoreFree(serPa);
  args.file = memfd;
}

/**
 * memfd_luo_finish: a retrieved file needs nothing more; one never
 * retrieved gives its folios, array and struct back to the allocator.
 */
function finish(args: LiveupdateFileOpArgs): void {
  if (args.retrieveStatus === 1) return;
  const { env } = args;
  const khoIn = env.khoIn;
  if (!khoIn || args.retrieveStatus < 0) return;
  const serPa = Number(args.serializedData);
  const ser = memfd_luo_ser.readAt(env.mem, serPa);
  if (ser.nr_folios > 0n) {
    const area = khoIn.restoreVmalloc(ser.folios);
    const ps = env.mem.pageSize;
    for (let k = 0; area && k < Number(ser.nr_folios); k++) {
      const e = memfd_luo_folio_ser.readAt(env.mem, folioSlot(area.pages, k, ps));
      const pfn = Number(e.pfn_flags & PFN_MASK);
      if (pfn !== 0) khoIn.restoreFree(pfn * ps);
    }
    for (const pa of area?.pages ?? []) env.alloc.freeBlock(pa, 0);
  }
  khoIn.restoreFree(serPa);
}

/** The memfd file handler, "memfd-v2": shmem files without links, not HugeTLB. */
export const memfdHandler: LiveupdateFileHandler = {
  compatible: MEMFD_LUO_FH_COMPATIBLE,
  ops: {
    canPreserve: (_h, file: LiveFile) => file instanceof Memfd && !file.hugetlb,
    preserve,
    unpreserve,
    freeze,
    retrieve,
    finish,
  },
};

/** memfd_create() in the simulated kernel. */
export function memfdCreate(env: Pick<LuoEnv, "mem" | "alloc">, name: string, hugetlb = false): Memfd {
  return new Memfd(env.mem, env.alloc, name, hugetlb);
}
