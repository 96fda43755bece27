import "reflect-metadata";
import { parentPort, workerData } from "node:worker_threads";
import { isKhoError } from "@khosim/kho-core";
import { loadPlugins } from "../plugins.js";
import { runCell } from "./cell.js";
import type { PairRequest, PairResult, WorkerSetup } from "./protocol.js";

/*
 * One worker thread of `kho matrix`: it loads the plugins itself (plugin
 * objects hold functions and cannot be sent), then runs whole pairs as the
 * main thread hands them out, one at a time.
 */

const setup = workerData as WorkerSetup;
const port = parentPort!;
const values = { plugin: [...setup.plugin], ...(setup.config !== undefined ? { config: setup.config } : {}) };
const plugins = await loadPlugins(values, setup.cwd);

port.on("message", (req: PairRequest) => {
  let result: PairResult;
  try {
    result = { index: req.index, cell: runCell(setup.spec, req.from, req.to, plugins) };
  } catch (e) {
    if (!isKhoError(e)) throw e;
    result = { index: req.index, error: { code: e.code, message: e.message } };
  }
  port.postMessage(result);
});
port.postMessage("ready");
