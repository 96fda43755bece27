import "reflect-metadata";
import { parentPort, workerData } from "node:worker_threads";
import { ContractViolation } from "./contract.js";
import { inputAt } from "./inputs.js";
import type { FuzzTarget } from "./targets.js";

/** What the supervisor gives a worker. */
export interface WorkerInput {
  /** The module whose `TARGETS` holds the target (the registry, or a test's own). */
  readonly targetsModule: string;
  readonly target: string;
  readonly seed: number;
  readonly from: number;
  /** [0]: the index being run (-1 between inputs); [1]: executions done. */
  readonly progress: SharedArrayBuffer;
}

/** What a worker reports: a violation at an index; everything else goes through `progress`. */
export interface WorkerMessage {
  readonly index: number;
  readonly message: string;
}

const { targetsModule, target: name, seed, from, progress } = workerData as WorkerInput;
const shared = new Int32Array(progress);
const { TARGETS } = (await import(targetsModule)) as { TARGETS: readonly FuzzTarget[] };
const target = TARGETS.find((t) => t.name === name)!;
target.seeds();
for (let i = from; ; i++) {
  const input = inputAt(target, seed, i);
  Atomics.store(shared, 0, i);
  try {
    target.exec(input);
  } catch (e) {
    if (!(e instanceof ContractViolation)) throw e;
    parentPort!.postMessage({ index: i, message: e.message } satisfies WorkerMessage);
  }
  Atomics.store(shared, 0, -1);
  Atomics.add(shared, 1, 1);
}
