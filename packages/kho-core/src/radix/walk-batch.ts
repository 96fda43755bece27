/**
 * Receives walked blocks in walk order, a batch at a time. An object with a
 * method rather than a function: optimised walk code binds to the call
 * target it saw, and a method on a prototype outlives every closure made
 * per walk.
 */
export interface RadixBatchSink {
  /**
   * Block i is `phys[i]` (a 64-bit address, exact as a number) of order
   * `orders[i]`, for i < n. The arrays are reused for the next batch. A
   * non-zero return stops the walk and is its result.
   */
  batch(phys: Float64Array, orders: Uint8Array, n: number): number;
}

/** Blocks per batch: 36 KiB of buffers, small enough to stay in cache between the scan and the sink. */
export const WALK_BATCH = 4096;

/**
 * The blocks a walk found and has not handed to its sink yet. The walk
 * flushes before it follows any child pointer and when the batch is full,
 * so a sink that stops the walk stops it at the same node a per-block
 * callback would: no node past that point is read or checked.
 */
export class WalkBatch {
  readonly phys = new Float64Array(WALK_BATCH);
  readonly orders = new Uint8Array(WALK_BATCH);
  n = 0;
  sink: RadixBatchSink | null = null;

  /** Hands the pending blocks to the sink; its result, or 0 when none were pending. */
  flush(): number {
    const n = this.n;
    if (n === 0) return 0;
    this.n = 0;
    return this.sink!.batch(this.phys, this.orders, n);
  }
}

/**
 * The batch of the last walk, kept for the next one, whichever tree it
 * walks: no 36 KiB allocated per walk (a short walk of a fresh tree paid for
 * it), and the batch's hidden class outlives every walk, so code optimised
 * for it is not dropped between walks. A walk from inside a sink finds none
 * and makes its own.
 */
let spare: WalkBatch | null = null;

/** A batch for a walk into `sink`: the spare one if no walk holds it. */
export function takeWalkBatch(sink: RadixBatchSink): WalkBatch {
  const out = spare ?? new WalkBatch();
  spare = null;
  out.n = 0;
  out.sink = sink;
  return out;
}

/** Gives a walk's batch back once the walk is over. */
export function returnWalkBatch(out: WalkBatch): void {
  out.sink = null;
  spare = out;
}
