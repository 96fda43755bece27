import { defineSubtree, hex, isKhoError, type JsonValue } from "@khosim/kho-core";
import { HUGETLB_SAMPLE_MAX_HSTATES, hugetlb_sample_ser, hugetlbSampleV1, identifyHugetlbSample } from "./abi/index.js";

/** What inspection shows of a descriptor blob (the shape of the plugin contract's SubtreeDescription). */
export interface DescriptorDescription {
  readonly fields: JsonValue;
  readonly problems?: readonly string[];
  readonly unavailable?: readonly string[];
}

/**
 * The header of a hugetlb-sample blob for inspection (debugfs copies,
 * reports): never throws for bad bytes, lists what a v1 reader would
 * refuse. The entries live in the kho_block chain, which only the memory
 * pages hold, so they are listed as unavailable.
 */
export function describeDescriptor(blob: Uint8Array): DescriptorDescription {
  const compatible = identifyHugetlbSample(blob);
  let h: ReturnType<typeof hugetlb_sample_ser.decode>;
  try {
    h = hugetlb_sample_ser.decode(blob);
  } catch (e) {
    if (!isKhoError(e)) throw e;
    return { fields: { compatible }, problems: [`not a hugetlb-sample-v1 header: ${e.message}`] };
  }
  const problems: string[] = [];
  if (h.nr_hstates > HUGETLB_SAMPLE_MAX_HSTATES)
    problems.push(`nr_hstates ${h.nr_hstates} > ${HUGETLB_SAMPLE_MAX_HSTATES}`);
  const used = h.hstates.slice(0, h.nr_hstates);
  // An order past 63 is no folio order; shifting by it would build a number of that many bits.
  const unreal = used.filter((s) => s.order > 63);
  for (const s of unreal) problems.push(`hstates: order ${s.order} is not a folio order`);
  let pages = 0n;
  for (const s of used) if (s.order <= 63) pages += s.nr_folios << BigInt(s.order);
  if (!unreal.length && pages !== h.total_pages)
    problems.push(`hstates cover ${pages} pages, total_pages says ${h.total_pages}`);
  return {
    fields: {
      compatible: h.compatible,
      total_pages: h.total_pages.toString(),
      entries: hex(h.entries),
      hstates: used.map((s) => ({ order: s.order, nr_folios: s.nr_folios.toString() })),
    },
    ...(problems.length ? { problems } : {}),
    ...(h.entries ? { unavailable: [`folio entries in the kho_block chain at ${hex(h.entries)}`] } : {}),
  };
}

/** Version 1 of the subtree: identified by its compatible slot, decoded by the header layout, described above. */
export const hugetlbSampleSubtreeV1 = defineSubtree({
  abi: hugetlbSampleV1,
  identify: identifyHugetlbSample,
  describe: describeDescriptor,
});
