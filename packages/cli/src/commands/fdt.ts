import { canonChunks, checkFull, dtsChunks, FdtError, readInputFile } from "@khosim/kho-core";
import { type Command, checkOptions, parseArgs, UsageError } from "../command.js";

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
    const blob = readInputFile(file);
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
        for (const chunk of dtsChunks(blob)) io.out(chunk);
        return 0;
      case "canon": {
        let invalid = false;
        for (const chunk of canonChunks(blob)) {
          invalid ||= chunk.startsWith("INVALID ");
          io.out(chunk);
        }
        return invalid ? 1 : 0;
      }
      default:
        throw new UsageError(`unknown subcommand "${sub}"`);
    }
  },
};
