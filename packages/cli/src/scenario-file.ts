import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type AnyPlugin, KhoError, loadScenario, type Scenario, ScenarioError } from "@khosim/kho-core";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";

/** The scenario `kho sim` runs without an argument: a file in this package, read like any other. */
export const DEFAULT_SCENARIO: string = fileURLToPath(new URL("../scenarios/default.yaml", import.meta.url));

/** A scenario file is a few KiB; anything past this is not one, and is not read into memory. */
export const MAX_SCENARIO_BYTES = 4 << 20;

/** One thing wrong with a scenario file, where an editor would jump to it. */
export interface ScenarioFileIssue {
  readonly file: string;
  /** 1-based, as editors and compilers count. */
  readonly line: number;
  readonly col: number;
  /** The path of the bad field in the data ("steps.3.args.name"), or "(syntax)" for a YAML error. */
  readonly path: string;
  readonly message: string;
}

/** A scenario file that does not parse or validate: every issue, each located. */
export class ScenarioFileError extends KhoError {
  override readonly name = "ScenarioFileError";
  constructor(
    readonly file: string,
    readonly issues: readonly ScenarioFileIssue[],
  ) {
    super("EINVAL", issues.map(formatFileIssue).join("\n"), file);
  }
}

/** `file:line:col: path: message`, the form compilers use. */
export function formatFileIssue(i: ScenarioFileIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${i.path}: ${i.message}`;
}

function keyText(key: unknown): string | null {
  return isScalar(key) ? String(key.value) : null;
}

/**
 * The node a data path leads to, or the deepest one that exists on the way
 * (a missing field is reported where its object is). A path ending at a
 * map key that exists points at the key, so an unknown key is shown at itself.
 */
function nodeAt(root: Node | null, path: readonly (string | number)[]): Node | null {
  let node: unknown = root;
  let found: Node | null = root;
  for (const [n, step] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(step));
      if (!pair) break;
      const last = n === path.length - 1;
      found = (last || pair.value === null ? pair.key : pair.value) as Node;
      node = pair.value;
    } else if (isSeq(node) && typeof step === "number" && node.items[step] !== undefined) {
      node = node.items[step];
      found = node as Node;
    } else break;
  }
  return found;
}

function readText(file: string): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    throw new KhoError("ENOENT", `cannot read ${file}: ${(e as Error).message}`, file);
  }
  if (size > MAX_SCENARIO_BYTES)
    throw new ScenarioFileError(file, [
      { file, line: 1, col: 1, path: "(file)", message: `${size} bytes is more than a scenario (at most 4 MiB)` },
    ]);
  return readFileSync(file, "utf8");
}

/** `plugins` appended to every kernel's list, when the data has that shape (validation judges the rest). */
function withPlugins(data: unknown, plugins: readonly string[]): unknown {
  const kernels = (data as { kernels?: unknown } | null)?.kernels;
  if (!plugins.length || kernels === null || typeof kernels !== "object") return data;
  for (const k of Object.values(kernels as Record<string, unknown>)) {
    const list = (k as { plugins?: unknown } | null)?.plugins;
    if (Array.isArray(list)) list.push(...plugins.filter((p) => !list.includes(p)));
  }
  return data;
}

/**
 * Reads a scenario file (YAML, or JSON, which YAML 1.2 reads the same way)
 * and validates it against the plugins given: syntax errors, then every
 * schema issue, then every plugin and step issue, each with its line,
 * column and path. `addToKernels` names plugins to build into every kernel
 * besides those the file lists. Throws ScenarioFileError; ENOENT when the
 * file is missing.
 */
export function loadScenarioFile(
  file: string,
  plugins: readonly AnyPlugin[],
  addToKernels: readonly string[] = [],
): Scenario {
  const text = readText(file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (offset: number) => lines.linePos(offset);
  if (doc.errors.length)
    throw new ScenarioFileError(
      file,
      doc.errors.map((e) => {
        const pos = at(e.pos[0]);
        return { file, line: pos.line, col: pos.col, path: "(syntax)", message: e.message.split("\n")[0]! };
      }),
    );
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new ScenarioFileError(file, [{ file, line: 1, col: 1, path: "(syntax)", message: (e as Error).message }]);
  }
  try {
    return loadScenario(withPlugins(data, addToKernels), plugins);
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    throw new ScenarioFileError(
      file,
      e.issues.map((i) => {
        const node = nodeAt(doc.contents, i.at);
        const pos = at(node?.range?.[0] ?? 0);
        return { file, line: pos.line, col: pos.col, path: i.path, message: i.message };
      }),
    );
  }
}
