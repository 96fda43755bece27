import "reflect-metadata";
import { main } from "./main.js";

// A reader that goes away (`kho fdt dts big.dtb | head`) ends the output, not the process with a stack trace.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
  process.exit(process.exitCode ?? 0);
});

process.exitCode = await main(process.argv.slice(2));
