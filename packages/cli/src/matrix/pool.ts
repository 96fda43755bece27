import { Worker } from "node:worker_threads";
import { KhoError } from "@khosim/kho-core";
import type { MatrixCell } from "./cell.js";
import type { PairRequest, PairResult, WorkerSetup } from "./protocol.js";

/** Every ordered pair of the matrix's kernels, the diagonal included, row-major. */
export function pairsOf(order: readonly string[]): PairRequest[] {
  return order.flatMap((from, i) => order.map((to, j) => ({ index: i * order.length + j, from, to })));
}

/**
 * Runs every pair on `workers` worker threads. Each worker takes the next
 * pair when it has finished one, and each cell lands at its pair's index:
 * the matrix is the same whatever the number of workers and whichever
 * finishes first. The first pair that fails with a KhoError fails the
 * whole run (every pair would meet the same plugin or workload error).
 */
export async function runPairs(setup: WorkerSetup, workers: number): Promise<MatrixCell[]> {
  const pairs = pairsOf(setup.spec.order);
  const cells: MatrixCell[] = new Array(pairs.length);
  let next = 0;
  let done = 0;
  const threads: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const feed = (w: Worker) => {
        const pair = pairs[next++];
        if (pair) w.postMessage(pair);
      };
      for (let n = 0; n < Math.min(workers, pairs.length); n++) {
        const w = new Worker(new URL("./worker.js", import.meta.url), { workerData: setup });
        threads.push(w);
        w.on("error", reject);
        w.on("exit", (code) => {
          if (done < pairs.length) reject(new KhoError("ECHILD", `a matrix worker exited (${code}) before the end`));
        });
        w.on("message", (msg: PairResult | "ready") => {
          if (msg !== "ready") {
            if ("error" in msg) return reject(new KhoError(msg.error.code, msg.error.message));
            cells[msg.index] = msg.cell;
            if (++done === pairs.length) return resolve();
          }
          feed(w);
        });
      }
    });
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
  return cells;
}
