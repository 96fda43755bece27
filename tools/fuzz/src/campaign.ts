import { Worker } from "node:worker_threads";
import { ContractViolation } from "./contract.js";
import { saveReproducer } from "./corpus.js";
import { inputAt } from "./inputs.js";
import { minimise } from "./minimise.js";
import type { FuzzTarget } from "./targets.js";
import type { WorkerInput, WorkerMessage } from "./worker.js";

export interface CampaignOptions {
  readonly targets: readonly FuzzTarget[];
  /** Wall-clock seconds for the whole campaign, shared evenly by the targets. */
  readonly seconds: number;
  readonly seed: number;
  readonly corpusDir: string;
  /** One input running longer than this is a hang. */
  readonly inputMs: number;
  /** A worker's old-generation heap limit: past it, the input is a memory blow-up. */
  readonly heapMb: number;
  /** The module the workers take `targets` from by name (default: the registry). */
  readonly targetsModule?: string;
}

const RECORDED_PER_KIND = 3;

export type FailureKind = "foreign-exception" | "hang" | "memory";

export interface CampaignFailure {
  readonly target: string;
  readonly kind: FailureKind;
  readonly index: number;
  readonly message: string;
  readonly file: string;
}

export interface TargetSummary {
  readonly target: string;
  readonly executions: number;
  readonly seconds: number;
  /** Every failing input; at most three of each kind are recorded as files. */
  readonly failures: number;
}

export interface CampaignSummary {
  readonly seed: number;
  readonly targets: readonly TargetSummary[];
  readonly failures: readonly CampaignFailure[];
}

/** Records a failure at `index`; a foreign exception is minimised first (it reproduces in this thread). */
function record(o: CampaignOptions, t: FuzzTarget, kind: FailureKind, index: number, message: string): CampaignFailure {
  let bytes = inputAt(t, o.seed, index);
  if (kind === "foreign-exception")
    bytes = minimise(bytes, (b) => {
      try {
        t.exec(b);
        return false;
      } catch (e) {
        return e instanceof ContractViolation;
      }
    });
  return { target: t.name, kind, index, message, file: saveReproducer(o.corpusDir, t.name, bytes) };
}

/**
 * Runs one target in worker threads for `ms`: a worker runs inputs from an
 * index on and reports progress through shared memory; the supervisor ends
 * and replaces a worker whose input runs past `inputMs` (a hang) or that
 * dies of its heap limit (a memory blow-up), recording that input.
 */
function runTarget(
  o: CampaignOptions,
  t: FuzzTarget,
  ms: number,
): Promise<TargetSummary & { failed: CampaignFailure[] }> {
  const failed: CampaignFailure[] = [];
  let count = 0;
  // The first few of each kind become files; the rest are counted (one bug fails many inputs).
  const fail = (kind: FailureKind, index: number, message: string): void => {
    count++;
    if (failed.filter((f) => f.kind === kind).length < RECORDED_PER_KIND)
      failed.push(record(o, t, kind, index, message));
  };
  const started = Date.now();
  let executions = 0;
  return new Promise((resolve, reject) => {
    const spawn = (from: number): void => {
      const progress = new SharedArrayBuffer(8);
      const shared = new Int32Array(progress);
      Atomics.store(shared, 0, -1);
      const targetsModule = o.targetsModule ?? new URL("./targets.js", import.meta.url).href;
      const data: WorkerInput = { targetsModule, target: t.name, seed: o.seed, from, progress };
      const worker = new Worker(new URL("./worker.js", import.meta.url), {
        workerData: data,
        resourceLimits: { maxOldGenerationSizeMb: o.heapMb },
        // The worker runs the built JavaScript: none of the parent's flags (a test
        // runner's resolve conditions would point it at TypeScript sources).
        execArgv: [],
      });
      let lastIndex = -1;
      let since = Date.now();
      let done = false;
      const finish = (next: (() => void) | null): void => {
        if (done) return;
        done = true;
        clearInterval(timer);
        executions += Atomics.load(shared, 1);
        void worker.terminate();
        if (next) next();
        else resolve({ target: t.name, executions, seconds: (Date.now() - started) / 1000, failures: count, failed });
      };
      worker.on("message", (m: WorkerMessage) => fail("foreign-exception", m.index, m.message));
      worker.on("error", (e: Error & { code?: string }) => {
        const at = Atomics.load(shared, 0);
        if (e.code !== "ERR_WORKER_OUT_OF_MEMORY" || at < 0) return finish(() => reject(e));
        fail("memory", at, `heap past ${o.heapMb} MB`);
        finish(Date.now() - started < ms ? () => spawn(at + 1) : null);
      });
      const timer = setInterval(() => {
        const at = Atomics.load(shared, 0);
        if (at !== lastIndex) {
          lastIndex = at;
          since = Date.now();
        } else if (at >= 0 && Date.now() - since > o.inputMs) {
          fail("hang", at, `one input ran past ${o.inputMs} ms`);
          return finish(Date.now() - started < ms ? () => spawn(at + 1) : null);
        }
        if (Date.now() - started >= ms) finish(null);
      }, 50);
    };
    spawn(0);
  });
}

/** Runs every target in turn for its share of the time; returns what each did and every failure recorded. */
export async function runCampaign(o: CampaignOptions): Promise<CampaignSummary> {
  const share = (o.seconds * 1000) / o.targets.length;
  const targets: TargetSummary[] = [];
  const failures: CampaignFailure[] = [];
  for (const t of o.targets) {
    const { failed, ...summary } = await runTarget(o, t, share);
    targets.push(summary);
    failures.push(...failed);
  }
  return { seed: o.seed, targets, failures };
}

export function formatSummary(s: CampaignSummary): string {
  const width = Math.max(...s.targets.map((t) => t.target.length));
  const rows = s.targets.map(
    (t) =>
      `${t.target.padEnd(width)}  ${String(t.executions).padStart(9)} executions` +
      `  ${t.seconds.toFixed(0).padStart(4)} s` +
      `  ${t.failures} failures`,
  );
  const total = s.targets.reduce((n, t) => n + t.executions, 0);
  return [
    `fuzz campaign, seed ${s.seed}`,
    ...rows,
    `total: ${total} executions, ${s.targets.reduce((n, t) => n + t.failures, 0)} failures`,
    ...s.failures.map((f) => `  ${f.target}: ${f.kind} at input ${f.index} (${f.message}) -> ${f.file}`),
    "",
  ].join("\n");
}
