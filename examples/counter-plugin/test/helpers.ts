import { createHash } from "node:crypto";
import {
  type AnyPlugin,
  type ComposedKernel,
  composeKernel,
  type LiveUpdateHost,
  Machine,
  type VersionPin,
} from "@khosim/kho-core";
import type { PhysMem } from "@khosim/kho-core/mem";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { type CounterState, counterPlugin } from "../src/index.js";

/** Small enough to boot in milliseconds, big enough for two 32 MiB images and scratch. */
export const smallMachine = (): Machine =>
  new Machine({
    pageSize: "4KiB",
    ram: [
      { start: 0, size: "256MiB", nid: 0 },
      { start: "1GiB", size: "256MiB", nid: 0 },
    ],
  });

export const V2_READS_V1: VersionPin = { write: "counter-v2", accept: ["counter-v2", "counter-v1"] };
export const V2_ONLY: VersionPin = { write: "counter-v2" };

export function kernel(release: string, opts: { counter?: VersionPin; extra?: AnyPlugin[] } = {}): ComposedKernel {
  return composeKernel({
    release,
    plugins: [kexecMetadataPlugin, counterPlugin, ...(opts.extra ?? [])],
    ...(opts.counter ? { versions: { counter: opts.counter } } : {}),
  });
}

export function counter(host: LiveUpdateHost): CounterState {
  return host.context(counterPlugin).state;
}

/** The counter's own log lines in the running kernel. */
export function counterLog(host: LiveUpdateHost): string[] {
  return host.kernel.log.lines.filter((l) => l.prefix === "counter: ").map((l) => l.text);
}

/** Deterministic bytes covering every value, so a single flipped bit anywhere would show. */
export function pattern(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A digest of every page that holds data, by pfn: equal digests, equal memory. */
export function memoryDigest(mem: PhysMem): Map<number, string> {
  const out = new Map<number, string>();
  for (const pfn of mem.populatedPfns()) {
    const page = mem.read(pfn * mem.pageSize, mem.pageSize);
    // An all-zero page reads like an absent one: only contents count.
    if (page.some((b) => b !== 0)) out.set(pfn, createHash("sha1").update(page).digest("hex"));
  }
  return out;
}
