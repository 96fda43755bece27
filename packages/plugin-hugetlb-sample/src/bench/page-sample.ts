import {
  definePlugin,
  defineSubtree,
  hex,
  isKhoError,
  KhoError,
  type PageAllocator,
  type PhysMem,
  VM_ALLOC,
} from "@khosim/kho-core";
import { PAGE_SAMPLE_NODE_NAME, page_sample_ser, pageSampleV1 } from "./abi/page-sample.js";

/** Runs of consecutive page frames, [start, end), in the order of `pfns`. */
function runsOf(pfns: Float64Array): [number, number][] {
  const runs: [number, number][] = [];
  for (const pfn of pfns) {
    const last = runs.at(-1);
    if (last && last[1] === pfn) last[1]++;
    else runs.push([pfn, pfn + 1]);
  }
  return runs;
}

const identify = (blob: Uint8Array): string | null => {
  try {
    return page_sample_ser.decode(blob).compatible;
  } catch (e) {
    if (isKhoError(e)) return null;
    throw e;
  }
};

/** The page-frame array as u64 words, page by page: the vmalloc area's contents. */
function writeFrames(mem: PhysMem, pages: readonly number[], pfns: Float64Array): void {
  const perPage = mem.pageSize / 8;
  const words = new BigUint64Array(perPage);
  pages.forEach((pa, i) => {
    words.fill(0n);
    const from = i * perPage;
    const to = Math.min(pfns.length, from + perPage);
    for (let j = from; j < to; j++) words[j - from] = BigInt(pfns[j]!);
    mem.write(pa, new Uint8Array(words.buffer));
  });
}

function readFrames(mem: PhysMem, pages: readonly number[], count: number): Float64Array {
  const perPage = mem.pageSize / 8;
  const pfns = new Float64Array(count);
  pages.forEach((pa, i) => {
    const bytes = mem.read(pa, mem.pageSize);
    const words = new BigUint64Array(bytes.buffer, bytes.byteOffset, perPage);
    const from = i * perPage;
    for (let j = from; j < Math.min(count, from + perPage); j++) pfns[j] = Number(words[j - from]!);
  });
  return pfns;
}

/**
 * The bench's small-page workload: `count` order-0 pages allocated one by
 * one, half on each node, as a memfd's page faults would take them, each
 * holding the seeded fill of its node. Handed over as memfd-v2 hands over
 * a file of small pages; the next kernel restores every page and checks
 * that it came back at its frame with its fill.
 */
export class PageSampleState {
  mem: PhysMem | null = null;
  alloc: PageAllocator | null = null;
  /** Page frames held, in allocation order. */
  pfns: Float64Array = new Float64Array(0);
  seed = 0;
  serPa = 0;

  private get attached(): { mem: PhysMem; alloc: PageAllocator } {
    if (!this.mem || !this.alloc) throw new KhoError("EINVAL", "page-sample used before setup", PAGE_SAMPLE_NODE_NAME);
    return { mem: this.mem, alloc: this.alloc };
  }

  /** Allocates `count` order-0 pages (the first half on node 0, the rest on node 1) and fills them. */
  allocate(count: number, seed: number): void {
    const { mem, alloc } = this.attached;
    this.pfns = new Float64Array(count);
    this.seed = seed;
    const half = Math.floor(count / 2);
    for (let i = 0; i < count; i++) this.pfns[i] = alloc.alloc(0, { nid: i < half ? 0 : 1 }) / mem.pageSize;
    for (const [s, e] of runsOf(this.pfns))
      mem.fillSeeded(s * mem.pageSize, (e - s) * mem.pageSize, seed + mem.nidOf(s));
  }

  /** Pages whose fill is not their node's seed after the handover (0 when every page came back). */
  verify(): number {
    const { mem } = this.attached;
    let bad = 0;
    for (const [s, e] of runsOf(this.pfns))
      for (const _ of mem.seededDiffs(s * mem.pageSize, (e - s) * mem.pageSize, this.seed + mem.nidOf(s))) bad++;
    return bad;
  }
}

/** Where the bench's phase marks go: the plugin tells which hook ran, the bench reads its clock. */
export type PhaseMark = (hook: "prepared" | "setup" | "restored") => void;

/**
 * A plugin preserving `PageSampleState`'s pages. `mark` is told when its
 * prepare has finished, when its setup runs in the next kernel and when
 * its restore has finished, so the bench can split host.kexec into phases.
 */
export function pageSamplePlugin(mark: PhaseMark) {
  return definePlugin<PageSampleState>({
    name: PAGE_SAMPLE_NODE_NAME,
    subtrees: [defineSubtree({ abi: pageSampleV1, identify })],
    state: () => new PageSampleState(),
    setup(ctx) {
      mark("setup");
      ctx.state.mem = ctx.mem;
      ctx.state.alloc = ctx.alloc;
    },
    outgoing: {
      init(ctx) {
        const pa = ctx.kho.allocPreserve(page_sample_ser.size);
        ctx.kho.addSubtree(PAGE_SAMPLE_NODE_NAME, pa, page_sample_ser.size);
        ctx.state.serPa = pa;
      },
      /** Every page one order-0 key, then the page-frame array as a preserved vmalloc area. */
      prepare(ctx) {
        const { pfns, seed, serPa } = ctx.state;
        const ps = ctx.mem.pageSize;
        for (const pfn of pfns) ctx.kho.preserveFolio({ pa: pfn * ps, order: 0 });
        const nrPages = Math.ceil((pfns.length * 8) / ps);
        const pages = Array.from({ length: nrPages }, () => ctx.alloc.alloc(0));
        writeFrames(ctx.mem, pages, pfns);
        const area = ctx.kho.preserveVmalloc({ nrPages, order: 0, vmFlags: VM_ALLOC, pages });
        const blob = page_sample_ser.encode({
          compatible: pageSampleV1.compatible[0]!,
          nr_pages: BigInt(pfns.length),
          seed,
          reserved: 0,
          pfns: area,
        });
        ctx.mem.write(serPa, blob);
        mark("prepared");
      },
    },
    incoming: {
      /** Every listed page restored as an order-0 folio at its frame; the array is freed as vfree would. */
      restore(ctx, sub) {
        const ser = page_sample_ser.decode(ctx.mem.read(sub.phys, sub.size));
        const area = sub.khoIn.restoreVmalloc(ser.pfns);
        const count = Number(ser.nr_pages);
        if (!area || area.nrPages * ctx.mem.pageSize < count * 8)
          throw new KhoError("EPROTO", `page-frame array of ${count} pages not restored`, PAGE_SAMPLE_NODE_NAME);
        const pfns = readFrames(ctx.mem, area.pages, count);
        for (const pa of area.pages) ctx.alloc.freeBlock(pa, 0);
        for (const pfn of pfns) {
          const folio = sub.khoIn.restoreFolio(pfn * ctx.mem.pageSize);
          if (folio?.order !== 0)
            throw new KhoError("EPROTO", `page ${hex(pfn * ctx.mem.pageSize)} did not come back as order 0`);
        }
        ctx.state.pfns = pfns;
        ctx.state.seed = ser.seed;
        mark("restored");
      },
    },
  });
}
