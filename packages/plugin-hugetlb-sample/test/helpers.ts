import {
  type AnyPlugin,
  type ComposedKernel,
  composeKernel,
  type LiveUpdateHost,
  Machine,
  type MachineSpec,
} from "@khosim/kho-core";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { type HugeFolio, type HugetlbState, hugetlbSamplePlugin } from "../src/index.js";

/**
 * Two nodes per page size, the second placed and sized so the largest huge
 * page size (1 GiB, 64 GiB, 512 MiB) fits a few times, aligned.
 */
export const MACHINES: Readonly<Record<"4KiB" | "16KiB" | "64KiB", MachineSpec>> = {
  "4KiB": {
    pageSize: "4KiB",
    ram: [
      { start: 0, size: "4GiB", nid: 0 },
      { start: "4GiB", size: "4GiB", nid: 1 },
    ],
  },
  "16KiB": {
    pageSize: "16KiB",
    ram: [
      { start: 0, size: "4GiB", nid: 0 },
      { start: "64GiB", size: "320GiB", nid: 1 },
    ],
  },
  "64KiB": {
    pageSize: "64KiB",
    ram: [
      { start: 0, size: "8GiB", nid: 0 },
      { start: "8GiB", size: "8GiB", nid: 1 },
    ],
  },
};

export function kernel(
  release: string,
  opts: { legacyRadixDepth?: boolean; extra?: AnyPlugin[] } = {},
): ComposedKernel {
  return composeKernel({
    release,
    plugins: [kexecMetadataPlugin, hugetlbSamplePlugin, ...(opts.extra ?? [])],
    ...(opts.legacyRadixDepth ? { legacyRadixDepth: true } : {}),
  });
}

export const machine = (pageSize: keyof typeof MACHINES): Machine => new Machine(MACHINES[pageSize]);

export function hugetlb(host: LiveUpdateHost): HugetlbState {
  return host.context(hugetlbSamplePlugin).state;
}

/** What must survive of a folio: address, order, node, owner, flags. */
export function identity(folios: readonly HugeFolio[]): string[] {
  return folios.map((f) => `${f.pa.toString(16)}/${f.order}/${f.node}/${f.owner}/${f.flags}`);
}

/** The plugin's own log lines in the running kernel. */
export function hugetlbLog(host: LiveUpdateHost): string[] {
  return host.kernel.log.lines.filter((l) => l.prefix === "hugetlb-sample: ").map((l) => l.text);
}
