import "reflect-metadata";
import { parseArgs } from "node:util";
import { formatSummary, runCampaign } from "./campaign.js";
import { CORPUS_DIR } from "./corpus.js";
import { TARGETS, targetNamed } from "./targets.js";

const USAGE = `usage: npm run fuzz -- --seconds N [--target NAME]... [--seed S] [--corpus DIR]
                     [--input-ms MS] [--heap-mb MB]
Runs every decoder target (or those named) for N seconds in all, records each foreign exception,
hang or memory blow-up as a reproducer under DIR/<target>/ (default tools/fuzz/corpus), which
\`npm test\` replays. Exit 1 when anything was recorded.
targets: ${TARGETS.map((t) => t.name).join(", ")}
`;

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    target: { type: "string", multiple: true },
    seed: { type: "string", default: "1" },
    corpus: { type: "string", default: CORPUS_DIR },
    "input-ms": { type: "string", default: "10000" },
    "heap-mb": { type: "string", default: "1024" },
    help: { type: "boolean" },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const num = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`--${name}: a positive number, not "${v}"\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
let targets = TARGETS;
try {
  if (values.target) targets = values.target.map(targetNamed);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(2);
}
try {
  const summary = await runCampaign({
    targets,
    seconds: num("seconds", values.seconds),
    seed: num("seed", values.seed),
    corpusDir: values.corpus,
    inputMs: num("input-ms", values["input-ms"]),
    heapMb: num("heap-mb", values["heap-mb"]),
  });
  process.stdout.write(formatSummary(summary));
  process.exit(summary.failures.length ? 1 : 0);
} catch (e) {
  // A worker that died of anything but its heap limit: the runner's own failure, not a target's.
  process.stderr.write(`fuzz: a worker died: ${(e as Error).message}\n`);
  process.exit(2);
}
