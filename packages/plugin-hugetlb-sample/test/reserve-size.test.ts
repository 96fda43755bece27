import {
  composeKernel,
  defineAbi,
  definePlugin,
  defineStruct,
  defineSubtree,
  field,
  LiveUpdateHost,
} from "@khosim/kho-core";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { describe, expect, it } from "vitest";
import { hugetlbSamplePlugin } from "../src/index.js";
import { hugetlb, machine } from "./helpers.js";

const PAGE = 16384;

/** What the probe saw of the 64 GiB folio between the reserve walk and hugetlb-sample's restore. */
const seen: { headFree: boolean; tailFree: boolean }[] = [];
let folioPa = 0;

const probeAbi = defineAbi({
  name: "probe",
  title: "probe",
  summary: "An 8-byte blob whose only purpose is a restore hook at the right moment.",
  compatible: ["probe-v1"],
  version: "1",
  layout: defineStruct("probe", { zero: field.u64() }, { packed: true }),
});

/**
 * Restored before hugetlb-sample (it comes first in the kernel), so its
 * restore hook runs in the window between kho_memory_init() and the
 * folio's kho_restore_folio(), where other early_initcalls allocate.
 */
const probe = definePlugin({
  name: "probe",
  subtrees: [defineSubtree({ abi: probeAbi, identify: () => "probe-v1" })],
  outgoing: {
    init(ctx) {
      ctx.kho.addSubtree("probe", ctx.kho.allocPreserve(8), 8);
    },
  },
  incoming: {
    restore(ctx) {
      seen.push({ headFree: ctx.alloc.isFree(folioPa), tailFree: ctx.alloc.isFree(folioPa + PAGE) });
    },
  },
});

const kernel = (release: string) =>
  composeKernel({ release, plugins: [kexecMetadataPlugin, probe, hugetlbSamplePlugin] });

describe("the reserve walk at v7.2-rc1 and blocks of 2 GiB and more", () => {
  it("reserves 16 bytes of a 64 GiB folio (16 KiB pages): its tail is free memory until the folio is restored", () => {
    const host = new LiveUpdateHost(machine("16KiB"));
    host.boot(kernel("A"));
    const a = hugetlb(host);
    const [f] = a.allocate({ size: "64GiB", count: 1, node: 1, owner: 1n });
    folioPa = f!.pa;
    a.fill(1n, 6);
    const r = host.kexec(kernel("B"));
    expect(r.subtrees.restored.map((s) => s.name)).toEqual(["probe", "hugetlb-sample", "kexec-metadata"]);
    // 1 << (22 + 14) in C int (undefined; arm64's LSL takes the count mod 32): 16 bytes, the head page only.
    expect(seen).toEqual([{ headFree: false, tailFree: true }]);
    // Nothing allocated there in between, so the folio still comes back whole and intact.
    expect(
      hugetlb(host)
        .pools.all()
        .map((x) => x.pa),
    ).toEqual([folioPa]);
    expect(host.kernel.alloc.isFree(folioPa + PAGE)).toBe(false);
    expect(hugetlb(host).verify(1n, 6).mismatchedFolios).toBe(0);
  });
});
