import { canonChunks, checkFull, dtsChunks, FdtError } from "@khosim/kho-core/fdt";
import { readInputFile } from "@khosim/kho-core/fs";
import { type Command, expectArgs, type Invocation, type Leaf } from "../command.js";

function load(inv: Invocation): { file: string; blob: Uint8Array } {
  const [file] = expectArgs(inv, ["FILE"]);
  return { file: file!, blob: readInputFile(file!) };
}

const check: Leaf = {
  name: "check",
  summary: "validate a DTB like libfdt's fdt_check_full (prints valid, or the error name and exits 1)",
  args: "FILE",
  example: "kho fdt check kho/in/fdt",
  options: {},
  run(inv) {
    const { file, blob } = load(inv);
    try {
      checkFull(blob);
    } catch (e) {
      if (!(e instanceof FdtError)) throw e;
      inv.io.out(`${e.fdtErr}\n`);
      inv.io.err(`kho fdt: ${file}: ${e.message}\n`);
      return 1;
    }
    inv.io.out("valid\n");
    return 0;
  },
};

const dts: Leaf = {
  name: "dts",
  summary: "print a DTB as `dtc -I dtb -O dts` would",
  args: "FILE",
  example: "kho fdt dts kho/in/fdt",
  options: {},
  run(inv) {
    // FdtError (invalid blob) and DtsError (dtc would refuse) are KhoErrors: main reports them, exit 1.
    for (const chunk of dtsChunks(load(inv).blob)) inv.io.out(chunk);
    return 0;
  },
};

const canon: Leaf = {
  name: "canon",
  summary: "canonical line listing of a DTB, for diffs (INVALID <name> and exit 1 when it is not one)",
  args: "FILE",
  example: "kho fdt canon kho/in/fdt",
  options: {},
  run(inv) {
    let invalid = false;
    for (const chunk of canonChunks(load(inv).blob)) {
      invalid ||= chunk.startsWith("INVALID ");
      inv.io.out(chunk);
    }
    return invalid ? 1 : 0;
  },
};

export const fdtCommand: Command = {
  name: "fdt",
  summary: "check a DTB like libfdt, print it as dtc's DTS or as a canon listing",
  example: "kho fdt dts kho/in/fdt",
  subcommands: [check, dts, canon],
};
