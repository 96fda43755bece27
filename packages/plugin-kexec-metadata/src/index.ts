/**
 * The kexec-metadata KHO subtree: struct kho_kexec_metadata, written inside kho_init.
 *
 * @module @khosim/plugin-kexec-metadata
 */

import { definePlugin, isKhoError } from "@khosim/kho-core";
import { KHO_KEXEC_METADATA_VERSION, KHO_METADATA_NODE_NAME, kho_kexec_metadata } from "./abi/index.js";
import { kexecMetadataCheck, kexecMetadataSubtree } from "./subtree.js";

export * from "./abi/index.js";
export * from "./subtree.js";

/** What the running kernel learnt from the handover and wrote for the next one. */
export interface KexecMetadataState {
  /** kexec_count of the incoming blob, 0 on a cold boot or when it was absent or refused. */
  incomingCount: number;
  incomingRelease: string | null;
  /** Where this kernel's own blob lives (0 until init). */
  blobPa: number;
}

/**
 * The kexec-metadata subtree (spec §8), code inside kho_init: a core
 * plugin, so its `restore` (reading the incoming blob) and `init` (writing
 * the outgoing one) run inside kho_init at fs_initcall, after early_initcall
 * consumers such as LUO, and not at all when KHO is off. Incoming checks in
 * the kernel's order with its log lines: a blob too small to hold the
 * version, a version other than 1, a v1 blob shorter than 73 bytes. The
 * outgoing blob is the first subtree, with kexec_count one more than the
 * incoming one. The incoming blob is never freed.
 */
export const kexecMetadataPlugin = definePlugin({
  name: "kexec-metadata",
  core: true,
  logPrefix: "KHO: ",
  subtrees: [kexecMetadataSubtree],
  state: (): KexecMetadataState => ({ incomingCount: 0, incomingRelease: null, blobPa: 0 }),
  incoming: {
    refused(ctx, sub) {
      const problem = kexecMetadataCheck(ctx.mem.read(sub.phys, Math.min(sub.size, kho_kexec_metadata.size)));
      if (problem) ctx.log.warn(problem);
    },
    restore(ctx, sub) {
      const blob = ctx.mem.read(sub.phys, Math.min(sub.size, kho_kexec_metadata.size));
      const problem = kexecMetadataCheck(blob);
      // The kernel logs the failed check and starts counting again; the report lists the subtree as lost.
      if (problem) ctx.log.warn(problem);
      const m = kexecMetadataSubtree.decode(blob);
      ctx.state.incomingCount = m.kexec_count;
      ctx.state.incomingRelease = m.previous_release;
      ctx.verified(kho_kexec_metadata.size);
      ctx.log.info(`exec from: ${m.previous_release} (count ${m.kexec_count})`);
    },
  },
  outgoing: {
    init(ctx) {
      const pa = ctx.kho.allocPreserve(kho_kexec_metadata.size);
      try {
        ctx.mem.write(
          pa,
          kexecMetadataSubtree.encode({
            version: KHO_KEXEC_METADATA_VERSION,
            previous_release: ctx.kernel.release,
            kexec_count: (ctx.state.incomingCount + 1) >>> 0,
          }),
        );
        ctx.kho.addSubtree(KHO_METADATA_NODE_NAME, pa, kho_kexec_metadata.size);
      } catch (e) {
        if (isKhoError(e)) ctx.kho.unpreserveFree(pa);
        throw e;
      }
      ctx.state.blobPa = pa;
    },
  },
});
