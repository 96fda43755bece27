import { readFileSync } from "node:fs";
import { KhoError } from "@khosim/kho-core";
import { checkFull, FdtError, toCanon, toDts } from "@khosim/kho-core/fdt";
import { type Command, checkOptions, parseArgs, UsageError } from "../command.js";

function load(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new KhoError("ENOENT", `cannot read ${path}: ${(e as Error).message}`, path);
  }
}

export const fdtCommand: Command = {
  name: "fdt",
  summary: "check a DTB like libfdt, print it as dtc's DTS or as a canon listing",
  usage: "kho fdt <check|dts|canon> FILE",
  run(args, io) {
    const p = parseArgs(args);
    checkOptions(p, []);
    const [sub, file, ...extra] = p.positional;
    if (sub === undefined || file === undefined || extra.length > 0)
      throw new UsageError("expected a subcommand and one FILE");
    const blob = load(file);
    switch (sub) {
      case "check":
        try {
          checkFull(blob);
        } catch (e) {
          if (!(e instanceof FdtError)) throw e;
          io.out(`${e.fdtErr}\n`);
          io.err(`kho fdt: ${file}: ${e.message}\n`);
          return 1;
        }
        io.out("valid\n");
        return 0;
      case "dts":
        // FdtError (invalid blob) and DtsError (dtc would refuse) are KhoErrors: main reports them, exit 1.
        io.out(toDts(blob));
        return 0;
      case "canon": {
        const text = toCanon(blob);
        io.out(text);
        return text.startsWith("INVALID ") ? 1 : 0;
      }
      default:
        throw new UsageError(`unknown subcommand "${sub}"`);
    }
  },
};
