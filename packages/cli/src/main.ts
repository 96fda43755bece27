import { createRequire } from "node:module";
import { isKhoError } from "@khosim/kho-core";
import { FileError } from "@khosim/kho-core/fs";
import { type Command, type Io, resolve, UsageError } from "./command.js";
import { kho } from "./commands/index.js";

export const stdio: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  errIsTTY: process.stderr.isTTY === true,
};

/** The CLI package's version (package.json sits next to both src/ and dist/). */
export const VERSION: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

/**
 * Runs one `kho` command line and returns the exit code: 0, 1 when a
 * command fails with a KhoError (one line: errno and message; 2 for a
 * command whose `errorExit` says such an error means unusable input), 2
 * for a file the command cannot use and for a usage error (the message,
 * then the help of the command it concerns).
 */
export async function main(argv: readonly string[], io: Io = stdio, root: Command = kho): Promise<number> {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
    io.out(`${VERSION}\n`);
    return 0;
  }
  let path: readonly string[] = [root.name];
  let errorExit: 1 | 2 = 1;
  try {
    const r = resolve(root, argv, path);
    if (r.kind === "help") {
      io.out(r.text);
      return 0;
    }
    path = r.path;
    errorExit = r.leaf.errorExit ?? 1;
    return await r.leaf.run({ ...r.inv, io });
  } catch (e) {
    if (e instanceof UsageError) {
      const at = (e.path ?? path).join(" ");
      io.err(`${at}: ${e.message}\n${e.message.includes("\n") ? "" : `(${at} --help shows its usage)\n`}`);
      return 2;
    }
    if (e instanceof FileError) {
      // An input or output path the command cannot use: a usage problem, not a verdict on its contents.
      io.err(`${path.join(" ")}: ${e.code}: ${e.message}\n`);
      return 2;
    }
    if (isKhoError(e)) {
      io.err(`${path.join(" ")}: ${e.code}: ${e.message}\n`);
      return errorExit;
    }
    throw e;
  }
}
