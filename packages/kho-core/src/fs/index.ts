/**
 * File-system edges: inputs read safely (regular files only, sized before
 * reading, typed errors naming the path), output folders prepared, and
 * paths that stay inside the folder a command was given.
 *
 * @module @khosim/kho-core/fs
 */

export { FileError, fileError } from "./error.js";
export { MAX_INPUT_BYTES, readInputFile } from "./input.js";
export { prepareOutputDir } from "./output.js";
export { pathInside, unsafeSegment } from "./paths.js";
