import { defineAbi, defineStruct, defineSubtree, field, isKhoError } from "@khosim/kho-core";

/** KHO node name of the subtree: one child of the root KHO FDT. */
export const COUNTER_NODE_NAME = "counter";
export const COUNTER_V1_COMPATIBLE = "counter-v1";
export const COUNTER_V2_COMPATIBLE = "counter-v2";
/** Bytes of the `compatible` slot that opens every version of the blob. */
export const COUNTER_COMPATIBLE_LEN = 16;

/*
 * Why a compatible string and not a version u32: the string sits at offset
 * 0 in every version, so one rule (`identifyCounter`) tells every blob
 * apart, and it is the name the plugin host pins, accepts and reports. A
 * number would need a naming convention on top (kexec-metadata maps its u32
 * to `kexec-metadata-vN` for the same reason). 16 bytes hold
 * "counter-vNNNNNN" and its NUL; a future version may change anything after
 * the slot, never the slot itself.
 */
const compatibleField = (text: string) =>
  field.char(COUNTER_COMPATIBLE_LEN, { doc: `"${text}", NUL-padded: which version of the blob this is.` });

/** Version 1: the count and where the buffer went. */
export const counter_ser = defineStruct(
  "counter_ser",
  {
    compatible: compatibleField(COUNTER_V1_COMPATIBLE),
    count: field.u64({ doc: "The counter, as the workload left it." }),
    buf_pa: field.phys({ doc: "Head of the preserved folio holding the buffer; 0 when the buffer is empty." }),
    buf_len: field.u32({ doc: "Bytes of the buffer at buf_pa; never more than the folio holds." }),
  },
  { packed: true },
);

/** Version 2: version 1 plus a checksum of the buffer, so the reader can prove it got the bytes back. */
export const counter_ser_v2 = defineStruct(
  "counter_ser_v2",
  {
    compatible: compatibleField(COUNTER_V2_COMPATIBLE),
    count: field.u64({ doc: "The counter, as the workload left it." }),
    buf_pa: field.phys({ doc: "Head of the preserved folio holding the buffer; 0 when the buffer is empty." }),
    buf_len: field.u32({ doc: "Bytes of the buffer at buf_pa; never more than the folio holds." }),
    buf_crc32: field.u32({
      doc: "crc32 (IEEE, as zlib and the kernel's crc32_le with ~0 in and out) of the buf_len bytes.",
    }),
  },
  { packed: true },
);

const history = [
  { version: "1", change: "compatible, count, buf_pa, buf_len." },
  { version: "2", change: "buf_crc32 appended; a v2 reader also accepts v1 blobs when the kernel is pinned to." },
];

const summary =
  "A counter and a buffer a workload keeps across kexec. The blob lives in a page from " +
  "kho_alloc_preserve(); the buffer in a folio preserved at prepare time.";

export const counterV1 = defineAbi({
  name: COUNTER_NODE_NAME,
  title: "example counter, version 1",
  summary,
  compatible: [COUNTER_V1_COMPATIBLE],
  version: "1",
  history: history.slice(0, 1),
  layout: counter_ser,
  defines: { COUNTER_NODE_NAME, COUNTER_V1_COMPATIBLE, COUNTER_COMPATIBLE_LEN },
});

export const counterV2 = defineAbi({
  name: COUNTER_NODE_NAME,
  title: "example counter, version 2",
  summary,
  compatible: [COUNTER_V2_COMPATIBLE],
  version: "2",
  history,
  layout: counter_ser_v2,
  defines: { COUNTER_NODE_NAME, COUNTER_V2_COMPATIBLE, COUNTER_COMPATIBLE_LEN },
});

const slot = counter_ser.fields.compatible;
const slotAt = counter_ser.offsetOf("compatible");

/**
 * The compatible string at offset 0, for every version. The host asks the
 * first accepted version's `identify` about any blob of the node, so this
 * one rule must hold for all versions; a blob too short or without a clean
 * NUL-terminated UTF-8 string is unidentifiable (null), never guessed.
 */
export function identifyCounter(blob: Uint8Array): string | null {
  if (blob.length < slotAt + slot.size) return null;
  try {
    return slot.read(new DataView(blob.buffer, blob.byteOffset, blob.length), slotAt, "counter_ser.compatible");
  } catch (e) {
    if (isKhoError(e)) return null;
    throw e;
  }
}

/** Decoding, encoding and inspection come from the struct layouts. */
export const counterSubtreeV1 = defineSubtree({ abi: counterV1, identify: identifyCounter });
export const counterSubtreeV2 = defineSubtree({ abi: counterV2, identify: identifyCounter });
