import type { Command } from "../command.js";
import { simCommand } from "./sim.js";
import { fdtCommand } from "./fdt.js";
import { radixCommand } from "./radix.js";
import { imageCommand } from "./image.js";
import { debugfsCommand } from "./debugfs.js";

/** Every top-level command, in the order `kho help` lists them. */
export const commands: readonly Command[] = [simCommand, radixCommand, fdtCommand, imageCommand, debugfsCommand];
