export { FileError, fileError } from "./error.js";
export { MAX_INPUT_BYTES, readInputFile } from "./input.js";
export { prepareOutputDir } from "./output.js";
