import { defineAbi, defineStruct, field } from "@khosim/kho-core";

/** KHO node name of the subtree (KHO_METADATA_NODE_NAME). */
export const KHO_METADATA_NODE_NAME = "kexec-metadata";
/** The only version at v7.2-rc1 (KHO_KEXEC_METADATA_VERSION). */
export const KHO_KEXEC_METADATA_VERSION = 1;
/** __NEW_UTS_LEN + 1: room for `uname -r` and its NUL. */
export const KEXEC_METADATA_RELEASE_LEN = 65;

/**
 * The struct carries its version as a u32, not a string. khosim names
 * version N of the blob `kexec-metadata-vN` so the plugin host can pin and
 * report versions the same way for every subtree.
 */
export function kexecMetadataCompatible(version: number): string {
  return `${KHO_METADATA_NODE_NAME}-v${version}`;
}

export const kho_kexec_metadata = defineStruct(
  "kho_kexec_metadata",
  {
    version: field.u32({ doc: "KHO_KEXEC_METADATA_VERSION (1)." }),
    previous_release: field.char(KEXEC_METADATA_RELEASE_LEN, {
      doc: "`uname -r` of the kernel that wrote the blob, NUL-terminated, truncated to 64 bytes.",
    }),
    kexec_count: field.u32({ doc: "kexec boots since the last cold boot, counting the one this blob hands over to." }),
  },
  { packed: true },
);

export const kexecMetadataV1 = defineAbi({
  name: KHO_METADATA_NODE_NAME,
  title: "kexec metadata",
  summary:
    "Which kernel handed over and how many kexecs have happened since the last cold boot. " +
    "KHO writes it inside kho_init() on every boot, as the first subtree of the root FDT, in a " +
    "zeroed page from kho_alloc_preserve(73); the next kernel logs `KHO: exec from: <release> (count <n>)`.",
  compatible: [kexecMetadataCompatible(KHO_KEXEC_METADATA_VERSION)],
  version: String(KHO_KEXEC_METADATA_VERSION),
  history: [{ version: "1", change: "First version: version, previous_release, kexec_count." }],
  layout: kho_kexec_metadata,
  defines: { KHO_METADATA_NODE_NAME, KHO_KEXEC_METADATA_VERSION },
});
