import { FileError, KhoError } from "@khosim/kho-core";
import { type Command, type Io, UsageError } from "./command.js";
import { commands } from "./commands/index.js";

export const stdio: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

function help(list: readonly Command[]): string {
  const w = Math.max(...list.map((c) => c.name.length));
  return [
    "usage: kho <command> [args]",
    "",
    ...list.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    "",
    "kho <command> --help shows a command's usage.",
    "",
  ].join("\n");
}

export async function main(
  argv: readonly string[],
  io: Io = stdio,
  list: readonly Command[] = commands,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.out(help(list));
    return name === undefined ? 2 : 0;
  }
  const cmd = list.find((c) => c.name === name);
  if (!cmd) {
    io.err(`kho: unknown command "${name}"\n${help(list)}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(`usage: ${cmd.usage}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`kho ${name}: ${e.message}\nusage: ${cmd.usage}\n`);
      return 2;
    }
    if (e instanceof FileError) {
      // An input or output path the command cannot use: a usage problem, not a verdict on its contents.
      io.err(`kho ${name}: ${e.code}: ${e.message}\n`);
      return 2;
    }
    if (e instanceof KhoError) {
      io.err(`kho ${name}: ${e.code}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
