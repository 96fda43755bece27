import { createHash } from "node:crypto";
import {
  defineAbi,
  definePlugin,
  defineStruct,
  defineSubtree,
  field,
  type IncomingHooks,
  type KhoPlugin,
  Machine,
  type PhysMem,
  type SubtreeVersion,
} from "../../src/index.js";

export const machine = (): Machine =>
  new Machine({
    pageSize: "4KiB",
    ram: [
      { start: 0, size: "512MiB", nid: 0 },
      { start: "4GiB", size: "512MiB", nid: 0 },
    ],
  });

export const blobLayout = defineStruct(
  "blob_ser",
  { compatible: field.char(16), value: field.u64() },
  { packed: true },
);
export function blobVersion(node: string, compatible: string): SubtreeVersion {
  return defineSubtree({
    abi: defineAbi({
      name: node,
      title: node,
      summary: "test blob",
      compatible: [compatible],
      version: compatible,
      layout: blobLayout,
    }),
    identify: (b) =>
      b.length >= 16 ? new TextDecoder().decode(b.subarray(0, Math.max(0, b.subarray(0, 16).indexOf(0)))) : null,
  });
}

/** A plugin that hands a u64 over in its own subtree; hooks can be overridden per test. */
export interface BlobState {
  pa: number;
  got: bigint | null;
}

export function blobPlugin(
  name: string,
  node: string,
  incoming?: IncomingHooks<BlobState>,
  compatible = `${node}-v1`,
): KhoPlugin<BlobState> {
  const version = blobVersion(node, compatible);
  return definePlugin<BlobState>({
    name,
    subtrees: [version],
    state: () => ({ pa: 0, got: null }),
    outgoing: {
      init(ctx) {
        ctx.state.pa = ctx.kho.allocPreserve(blobLayout.size);
        blobLayout.writeAt(ctx.mem, ctx.state.pa, { compatible, value: 42n });
        ctx.kho.addSubtree(node, ctx.state.pa, blobLayout.size);
      },
    },
    incoming: incoming ?? {
      restore(ctx, sub) {
        ctx.state.got = blobLayout.readAt(ctx.mem, sub.phys).value;
        ctx.khoIn!.restoreFree(sub.phys);
      },
    },
  });
}

export function memoryDigest(mem: PhysMem): string {
  const h = createHash("sha256");
  for (const pfn of mem.populatedPfns()) h.update(`${pfn}:`).update(mem.page(pfn));
  h.update(`poisoned:${mem.poisonedPages}`);
  return h.digest("hex");
}
