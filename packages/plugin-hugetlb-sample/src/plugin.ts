import {
  actionFor,
  definePlugin,
  hex,
  isKhoError,
  KhoError,
  type LogSink,
  type PluginAction,
  type ScopedLog,
} from "@khosim/kho-core";
import { z } from "zod";
import {
  HUGETLB_SAMPLE_NODE_NAME,
  HUGETLB_SAMPLE_V1_COMPATIBLE,
  hugetlb_sample_folio_ser,
  hugetlb_sample_ser,
} from "./abi/index.js";
import { hugetlbSampleSubtreeV1 } from "./describe.js";
import { describePages, deserialize, serialize, unserialize } from "./serialize.js";
import { HugetlbState } from "./state.js";

function sink(log: ScopedLog): LogSink {
  return (line, level) => log[level](line);
}

const TOTAL_PAGES_AT = hugetlb_sample_ser.offsetOf("total_pages");

/** A u64 owner token as a scenario writes it: a non-negative integer or a decimal or 0x string. */
const ownerArg = z
  .union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().regex(/^(0x[0-9a-fA-F]+|[0-9]+)$/)])
  .transform((v) => BigInt(v))
  .pipe(z.bigint().max((1n << 64n) - 1n, "owner token is not a u64"));
const seedArg = z.number().int().min(0).max(0xffffffff);

/**
 * One workload operation a scenario may run, its arguments checked by zod
 * before `run` (the shape of the plugin contract's `PluginAction`).
 */
export type HugetlbAction<A extends z.ZodType> = PluginAction<HugetlbState, A>;

const action = actionFor<HugetlbState>();

/** The workload operations, as scenario actions (`hugetlb-sample.allocate`, ...). */
export const hugetlbSampleActions = {
  allocate: action({
    summary: "allocate count huge folios of one size on one node for an owner",
    args: z.strictObject({
      size: z.union([z.number().int().positive(), z.string().min(1)]),
      count: z.number().int().positive(),
      node: z.number().int().min(0).default(0),
      owner: ownerArg.default(0n),
      pinned: z.boolean().default(false),
    }),
    run(ctx, a) {
      const got = ctx.state.allocate(a);
      ctx.log.info(`allocated ${got.length} folios of order ${got[0]!.order} on node ${a.node} for owner ${a.owner}`);
    },
  }),
  free: action({
    summary: "free every folio an owner holds",
    args: z.strictObject({ owner: ownerArg }),
    run(ctx, a) {
      ctx.state.freeOwner(a.owner);
    },
  }),
  fill: action({
    summary: "fill every folio of an owner with the seeded pattern",
    args: z.strictObject({ owner: ownerArg, seed: seedArg }),
    run(ctx, a) {
      ctx.state.fill(a.owner, a.seed);
    },
  }),
  verify: action({
    summary: "check every folio of an owner holds the seeded pattern (EIO naming the first bad addresses if not)",
    args: z.strictObject({ owner: ownerArg, seed: seedArg }),
    run(ctx, a) {
      const r = ctx.state.verify(a.owner, a.seed);
      if (r.mismatchedFolios)
        throw new KhoError(
          "EIO",
          `${r.mismatchedFolios} of ${r.folios} folios of owner ${a.owner} differ, first at ${r.mismatches.join(", ")}`,
          HUGETLB_SAMPLE_NODE_NAME,
        );
      ctx.verified(r.bytes);
    },
  }),
} as const;

/**
 * The hugetlb sample: huge page pools whose folios survive kexec at the
 * same physical addresses, with their order, node and owner. Contents are
 * never copied: the folios are preserved in place, one radix key each.
 */
export const hugetlbSamplePlugin = definePlugin<HugetlbState>({
  name: "hugetlb-sample",
  logPrefix: "hugetlb-sample: ",
  subtrees: [hugetlbSampleSubtreeV1],
  actions: hugetlbSampleActions,
  state: () => new HugetlbState(),
  setup(ctx) {
    ctx.state.attach(ctx.mem, ctx.alloc);
  },
  outgoing: {
    /** The blob page is preserved and listed from kho_init on (zeroed); prepare fills it. */
    init(ctx) {
      const pa = ctx.kho.allocPreserve(hugetlb_sample_ser.size);
      try {
        ctx.kho.addSubtree(HUGETLB_SAMPLE_NODE_NAME, pa, hugetlb_sample_ser.size);
      } catch (e) {
        if (isKhoError(e)) ctx.kho.unpreserveFree(pa);
        throw e;
      }
      ctx.state.serPa = pa;
    },
    /** Every folio preserved as one key, the entry chain and the header written; the pools freeze. */
    prepare(ctx) {
      const st = ctx.state;
      if (st.serPa === 0) {
        ctx.log.warn("KHO is off: huge pages do not survive this kexec");
        return;
      }
      const folios = st.pools.all();
      st.prepared = serialize(ctx.mem, ctx.kho, st.serPa, folios, sink(ctx.log));
      let pages = 0n;
      for (const f of folios) pages += 1n << BigInt(f.order);
      ctx.log.info(
        `handing over ${folios.length} huge folios, ${describePages(pages, ctx.kernel.pageSize)}, ` +
          `in ${st.prepared.blocks.nblocks} blocks as ${HUGETLB_SAMPLE_V1_COMPATIBLE}`,
      );
    },
    /** A later prepare failed: chain freed, folios unpreserved, blob zeroed, pools thawed. */
    abort(ctx) {
      const st = ctx.state;
      if (!st.prepared) return;
      unserialize(ctx.mem, ctx.kho, st.serPa, st.prepared);
      st.prepared = null;
      ctx.log.info("kexec aborted: huge folios unpreserved, pools thawed");
    },
  },
  incoming: {
    restore(ctx, sub) {
      const env = { mem: ctx.mem, alloc: ctx.alloc, khoIn: sub.khoIn, log: sink(ctx.log) };
      const folios = deserialize(env, sub.phys, sub.size);
      ctx.state.pools.adopt(folios);
      const bytes = folios.reduce((n, f) => n + ctx.kernel.pageSize * 2 ** f.order, 0);
      ctx.state.incoming = { compatible: sub.compatible, folios: folios.length, bytes };
      ctx.verified(hugetlb_sample_ser.size + folios.length * hugetlb_sample_folio_ser.size);
      ctx.log.info(`restored ${folios.length} huge folios (${hex(bytes)} bytes) from ${sub.compatible}`);
    },
    /**
     * Not misread: the folios stay reserved, never restored, and are lost
     * to this kernel. The stable prefix of every version says how much
     * memory that is, so the loss is logged, not silent.
     */
    refused(ctx, sub) {
      const pages = sub.size >= TOTAL_PAGES_AT + 8 ? ctx.mem.readU64(sub.phys + TOTAL_PAGES_AT) : null;
      ctx.state.refused = { compatible: sub.compatible, pages };
      const lost = pages === null ? "an unknown amount" : describePages(pages, ctx.kernel.pageSize);
      ctx.log.warn(
        `refusing ${sub.compatible ?? "an unidentifiable descriptor"} at ${hex(sub.phys)} (this kernel reads ` +
          `${sub.accepted.join(", ")}): ${lost} of huge folios stay reserved and are lost`,
      );
    },
  },
});
