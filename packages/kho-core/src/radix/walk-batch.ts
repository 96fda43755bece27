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
