import type { PhysMem } from "../mem/phys.js";

/**
 * What a block set needs from KHO. Kept this small so the block code does
 * not depend on the KHO core (which depends on it) and tests can record
 * every call.
 */
export interface BlockBackend {
  /** Memory the block pages live in; its page size is the block size. */
  readonly mem: PhysMem;
  /**
   * kho_alloc_preserve(size): a zeroed, preserved folio big enough for
   * `size` bytes; returns its physical address. Throws KhoError (ENOMEM...).
   */
  allocPreserve(size: number): number;
  /** kho_unpreserve_free(): unpreserve the folio at `pa` and free it. */
  unpreserveFree(pa: number): void;
  /** kho_restore_free() in the next kernel: restore the folio at `pa`, then free it. */
  restoreFree(pa: number): void;
}

/**
 * Where kernel log lines go, with the printk level they have in the kernel
 * (pr_notice counts as info). The caller adds any pr_fmt prefix; a plain
 * `(line) => void` function fits too.
 */
export type LogSink = (line: string, level: "info" | "warn" | "err") => void;
