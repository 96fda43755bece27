import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { AbiSchema } from "@khosim/kho-core";
import { abiId, generateAbiJsonSchema, generateCHeader, renderAbiDocs } from "@khosim/kho-core/abi";
import { pathInside, prepareOutputDir } from "@khosim/kho-core/fs";

/** The folders of generated files besides the Markdown pages; nothing else under the docs folder is touched. */
const GENERATED = { include: ".h", schema: ".json" } as const;

/**
 * Everything generated from the ABI schemas, by path relative to the docs
 * folder: one Markdown page per node and an index (renderAbiDocs), the C
 * header of every version in `include/`, and the JSON Schema of every
 * version's decoded value in `schema/`. Page-size dependent layouts are
 * shown at 4 KiB pages (`kho abi header --page-size` gives the others).
 */
export function renderDocs(schemas: readonly AbiSchema[]): Map<string, string> {
  const files = renderAbiDocs(schemas);
  for (const s of schemas) {
    files.set(`include/${abiId(s)}.h`, generateCHeader(s));
    files.set(`schema/${abiId(s)}.json`, `${JSON.stringify(generateAbiJsonSchema(s), null, 2)}\n`);
  }
  return files;
}

/** Files of the kinds renderDocs makes that are in `dir` now, by relative path. */
function existingDocs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found = readdirSync(dir).filter((f) => f.endsWith(".md"));
  for (const [sub, ext] of Object.entries(GENERATED)) {
    const at = pathInside(dir, sub);
    if (existsSync(at))
      found.push(
        ...readdirSync(at)
          .filter((f) => f.endsWith(ext))
          .map((f) => `${sub}/${f}`),
      );
  }
  return found;
}

/** Writes `files` into `dir` and removes generated files no ABI makes any more. Paths stay inside `dir`. */
export function writeDocs(dir: string, files: ReadonlyMap<string, string>): void {
  const targets = [...files].map(([name, text]) => [pathInside(dir, ...name.split("/")), text] as const);
  // A folder the command cannot use (a file, /proc, ...) is one typed error before anything is read or written.
  prepareOutputDir(dir);
  for (const old of existingDocs(dir)) if (!files.has(old)) rmSync(pathInside(dir, ...old.split("/")));
  for (const [target, text] of targets) {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
}

/** What `--check` finds: files whose text differs, files missing, and generated files no ABI makes. */
export interface DocsDrift {
  readonly stale: string[];
  readonly missing: string[];
  readonly extra: string[];
}

export function docsDrift(dir: string, files: ReadonlyMap<string, string>): DocsDrift {
  const drift: DocsDrift = { stale: [], missing: [], extra: [] };
  for (const [name, text] of files) {
    const at = pathInside(dir, ...name.split("/"));
    if (!existsSync(at)) drift.missing.push(name);
    else if (readFileSync(at, "utf8") !== text) drift.stale.push(name);
  }
  drift.extra.push(...existingDocs(dir).filter((f) => !files.has(f)));
  return drift;
}
