import type { Errno } from "@khosim/kho-core";
import type { MatrixCell } from "./cell.js";
import type { MatrixSpec } from "./spec.js";

/** What every worker thread starts with: the matrix, and where and how to load the plugins. */
export interface WorkerSetup {
  readonly spec: MatrixSpec;
  /** `--plugin` specs and `--config`, resolved from `cwd` as the command itself resolved them. */
  readonly plugin: readonly string[];
  readonly config: string | undefined;
  readonly cwd: string;
}

/** Main thread to worker: run the pair at `index` of the matrix (row-major). */
export interface PairRequest {
  readonly index: number;
  readonly from: string;
  readonly to: string;
}

/** Worker to main thread: a cell, or the KhoError that stopped the pair (its message names where). */
export type PairResult =
  | { readonly index: number; readonly cell: MatrixCell }
  | { readonly index: number; readonly error: { readonly code: Errno; readonly message: string } };
