import type { Command } from "../command.js";
import { abiCommand } from "./abi.js";
import { debugfsCommand } from "./debugfs.js";
import { fdtCommand } from "./fdt.js";
import { imageCommand } from "./image.js";
import { radixCommand } from "./radix.js";
import { simCommand } from "./sim.js";

/** Every top-level command, in the order `kho help` lists them. */
export const commands: readonly Command[] = [
  simCommand,
  abiCommand,
  radixCommand,
  fdtCommand,
  imageCommand,
  debugfsCommand,
];
