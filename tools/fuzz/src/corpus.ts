import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The regression corpus the test suite replays: one folder per target, one file per reproducer. */
export const CORPUS_DIR = fileURLToPath(new URL("../corpus", import.meta.url));

export interface Reproducer {
  readonly target: string;
  readonly file: string;
  readonly bytes: Uint8Array;
}

/** Writes `bytes` as `<dir>/<target>/<sha256, 16 hex digits>.bin`; the same input twice is one file. */
export function saveReproducer(dir: string, target: string, bytes: Uint8Array): string {
  const folder = join(dir, target);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}.bin`);
  writeFileSync(file, bytes);
  return file;
}

/** Every reproducer under `dir`. */
export function readCorpus(dir: string = CORPUS_DIR): Reproducer[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(join(dir, d.name))
        .filter((f) => f.endsWith(".bin"))
        .sort()
        .map((f) => ({
          target: d.name,
          file: join(dir, d.name, f),
          bytes: new Uint8Array(readFileSync(join(dir, d.name, f))),
        })),
    );
}
