import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Folio } from "../src/kho/index.js";
import { KhoRadixTree } from "../src/radix/index.js";
import { claimBlock, coldBoot, inOf, machineSpec, stamp } from "./helpers/kho-machine.js";
import { feedReference, type RadixOp } from "./helpers/kho-radix-ref.js";

/**
 * The test's own model of the page-range split (spec 4.2), written apart
 * from the code under test: blocks as large as the alignment of the start
 * and the remaining length allow. Ranges here stay inside one aligned block
 * on one node, so the NUMA rule never applies.
 */
function modelSplit(pfn: number, n: number): [number, number][] {
  const out: [number, number][] = [];
  const end = pfn + n;
  while (pfn < end) {
    let order = 0;
    while (pfn % 2 ** (order + 1) === 0 && 2 ** (order + 1) <= end - pfn) order++;
    out.push([pfn, order]);
    pfn += 2 ** order;
  }
  return out;
}

/** Walk order of spec 3.5: ascending key, i.e. larger orders first, then ascending address. */
function walkOrder(blocks: Iterable<Folio>): Folio[] {
  return [...blocks].sort((a, b) => b.order - a.order || a.pa - b.pa);
}

const blockArb = fc.record({
  at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  order: fc.integer({ min: 0, max: 7 }),
});
const opArb = fc.record({
  block: fc.nat(),
  kind: fc.constantFrom("folio" as const, "pages" as const),
  del: fc.boolean(),
  off: fc.nat(),
  len: fc.nat(),
});

describe("KHO core: properties over preserve/unpreserve interleavings", () => {
  for (const [pageSize, runs] of [
    [4096, 40],
    [16384, 20],
    [65536, 15],
  ] as const) {
    const kib = pageSize / 1024;
    it(`after a kexec the walk and stamps are the live set, node pages the C reference's (${kib} KiB)`, () => {
      fc.assert(
        fc.property(
          fc.array(blockArb, { minLength: 1, maxLength: 12 }),
          fc.array(opArb, { minLength: 1, maxLength: 40 }),
          (blockSpecs, ops) => {
            const { machine, k, out } = coldBoot(machineSpec(pageSize));
            const ps = pageSize;
            const totalPages = k.mem.totalBytes / ps;
            // Blocks the test owns, spread over all of RAM so many leaves and tables are used.
            const blocks: { pfn: number; order: number }[] = [];
            for (const b of blockSpecs) {
              const pfn = Math.floor(Math.floor(b.at * totalPages) / 2 ** b.order) * 2 ** b.order;
              if (claimBlock(k, pfn, b.order)) blocks.push({ pfn, order: b.order });
            }
            fc.pre(blocks.length > 0);

            const live = new Map<string, Folio>();
            const refOps: RadixOp[] = [{ op: "a", pa: out.fdtPa, order: 0 }];
            live.set(`${out.fdtPa}/0`, { pa: out.fdtPa, order: 0 });
            const apply = (del: boolean, keys: [number, number][]): void => {
              for (const [pfn, order] of keys) {
                const f = { pa: pfn * ps, order };
                if (del) live.delete(`${f.pa}/${order}`);
                else live.set(`${f.pa}/${order}`, f);
                refOps.push({ op: del ? "d" : "a", pa: f.pa, order });
              }
            };
            for (const op of ops) {
              const b = blocks[op.block % blocks.length]!;
              if (op.kind === "folio") {
                const f = { pa: b.pfn * ps, order: b.order };
                if (op.del) out.unpreserveFolio(f);
                else out.preserveFolio(f);
                apply(op.del, [[b.pfn, b.order]]);
              } else {
                const size = 2 ** b.order;
                const off = op.off % size;
                const len = 1 + (op.len % (size - off));
                if (op.del) out.unpreservePages((b.pfn + off) * ps, len);
                else out.preservePages((b.pfn + off) * ps, len);
                apply(op.del, modelSplit(b.pfn + off, len));
              }
            }

            const expected = walkOrder(live.values());
            const ref = feedReference(k.mem.pageShift, refOps);
            expect(ref.walk).toEqual(expected.map((f) => [f.pa, f.order]));
            // Nodes are never freed: the count reflects every key ever added.
            expect(out.tree.nodePagePAs().length).toBe(ref.treePages);
            expect(out.preserved()).toEqual(expected);

            let incoming: Folio[] = [];
            const b = machine.kexec(
              { release: "B" },
              {
                early(kb) {
                  // The next kernel's view of the handed-over tree, before the reserve walk.
                  const tree = KhoRadixTree.adopt(kb.mem, inOf(kb).memMapPa);
                  tree.walk((pa, order) => {
                    incoming.push({ pa, order });
                    return 0;
                  });
                  expect(tree.nodePagePAs().length).toBe(ref.treePages);
                },
              },
            );
            expect(incoming).toEqual(expected);
            incoming = [];

            // Stamps: page->private is written once per key in walk order, so
            // when two live keys share a head page the later one (smaller order) stays.
            const heads = new Map<number, number>();
            for (const f of expected) heads.set(f.pa / ps, f.order);
            const kin = inOf(b);
            expect(kin.stampedBlocks).toBe(heads.size);
            for (const [pfn, order] of heads) expect(kin.pagePrivate(pfn)).toBe(stamp(order));
            for (const [pfn, order] of heads) {
              expect(kin.restoreFolio(pfn * ps)).toEqual({ pa: pfn * ps, order });
              expect(kin.restoreFolio(pfn * ps)).toBeNull();
            }
            expect(kin.stampedBlocks).toBe(0);
          },
        ),
        { seed: 0x6b686f + pageSize, numRuns: runs },
      );
    });
  }
});
