import type { Group } from "../command.js";
import { abiCommand } from "./abi.js";
import { debugfsCommand } from "./debugfs.js";
import { docsCommand } from "./docs.js";
import { fdtCommand } from "./fdt.js";
import { imageCommand } from "./image.js";
import { inspectCommand } from "./inspect.js";
import { matrixCommand } from "./matrix.js";
import { newPluginCommand } from "./new-plugin.js";
import { radixCommand } from "./radix.js";
import { simCommand } from "./sim.js";

/** The root of the command tree; `kho --help` lists its commands in this order. */
export const kho: Group = {
  name: "kho",
  summary: "Kexec HandOver and Live Update simulator (Linux v7.2-rc1)",
  example: "kho sim --plugin ./my-plugin.mjs",
  subcommands: [
    simCommand,
    abiCommand,
    radixCommand,
    fdtCommand,
    imageCommand,
    inspectCommand,
    debugfsCommand,
    newPluginCommand,
    matrixCommand,
    docsCommand,
  ],
};
