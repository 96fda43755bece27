import type { Command } from "../command.js";

export const simCommand: Command = {
  name: "sim",
  summary: "run a live-update chain on a simulated machine and print its report",
  usage: "kho sim [--json]",
  run(_args, io) {
    io.out("khosim: no scenario runner yet\n");
    return 0;
  },
};
