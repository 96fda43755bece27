/**
 * The kexec-metadata KHO subtree: struct kho_kexec_metadata, written inside kho_init.
 *
 * @module @khosim/plugin-kexec-metadata
 */

import { definePlugin, isKhoError, KhoError, type SubtreeVersion } from "@khosim/kho-core";
import {
  KEXEC_METADATA_RELEASE_LEN,
  KHO_KEXEC_METADATA_VERSION,
  KHO_METADATA_NODE_NAME,
  kexecMetadataCompatible,
  kexecMetadataV1,
  kho_kexec_metadata,
} from "./abi/index.js";

export * from "./abi/index.js";

/** What the running kernel learnt from the handover and wrote for the next one. */
export interface KexecMetadataState {
  /** kexec_count of the incoming blob, 0 on a cold boot or when it was absent or refused. */
  incomingCount: number;
  incomingRelease: string | null;
  /** Where this kernel's own blob lives (0 until init). */
  blobPa: number;
}

const versionField = kho_kexec_metadata.members.find((m) => m.name === "version")!;

/** Reads the u32 version at its offset, whatever the rest of the blob holds. */
function identify(blob: Uint8Array): string | null {
  if (blob.length < versionField.offset + versionField.field.size) return null;
  return kexecMetadataCompatible(new DataView(blob.buffer, blob.byteOffset).getUint32(versionField.offset, true));
}

export const kexecMetadataSubtree: SubtreeVersion = { abi: kexecMetadataV1, identify };

/** `uname -r` as the kernel copies it: at most __NEW_UTS_LEN bytes. */
function truncateRelease(release: string): string {
  const bytes = new TextEncoder().encode(release);
  if (bytes.length < KEXEC_METADATA_RELEASE_LEN) return release;
  return new TextDecoder().decode(bytes.subarray(0, KEXEC_METADATA_RELEASE_LEN - 1));
}

/**
 * The kexec-metadata subtree (spec §8). Incoming checks in the kernel's
 * order with its log lines: a blob too small to hold the version, a version
 * other than 1, a v1 blob shorter than 73 bytes. The outgoing blob is
 * written in kho_init on cold and KHO boots alike, as the first subtree,
 * with kexec_count one more than the incoming one. The incoming blob is
 * never freed.
 */
export const kexecMetadataPlugin = definePlugin<KexecMetadataState>({
  name: "kexec-metadata",
  core: true,
  logPrefix: "KHO: ",
  subtrees: [kexecMetadataSubtree],
  state: () => ({ incomingCount: 0, incomingRelease: null, blobPa: 0 }),
  incoming: {
    refused(ctx, sub) {
      if (sub.compatible === null) ctx.log.warn(`kexec-metadata blob too small (${sub.size} bytes)`);
      else {
        const v = Number(sub.compatible.slice(`${KHO_METADATA_NODE_NAME}-v`.length));
        ctx.log.warn(`kexec-metadata version ${v} not supported (expected ${KHO_KEXEC_METADATA_VERSION})`);
      }
    },
    restore(ctx, sub) {
      if (sub.size < kho_kexec_metadata.size) {
        ctx.log.warn(
          `kexec-metadata blob too small for v${KHO_KEXEC_METADATA_VERSION} (${sub.size} < ${kho_kexec_metadata.size})`,
        );
        throw new KhoError(
          "EINVAL",
          `blob of ${sub.size} bytes, v1 needs ${kho_kexec_metadata.size}`,
          KHO_METADATA_NODE_NAME,
        );
      }
      const m = kho_kexec_metadata.readAt(ctx.mem, sub.phys);
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
        kho_kexec_metadata.writeAt(ctx.mem, pa, {
          version: KHO_KEXEC_METADATA_VERSION,
          previous_release: truncateRelease(ctx.kernel.release),
          kexec_count: (ctx.state.incomingCount + 1) >>> 0,
        });
        ctx.kho.addSubtree(KHO_METADATA_NODE_NAME, pa, kho_kexec_metadata.size);
      } catch (e) {
        if (isKhoError(e)) ctx.kho.unpreserveFree(pa);
        throw e;
      }
      ctx.state.blobPa = pa;
    },
  },
});
