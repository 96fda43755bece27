/**
 * Paths that stay inside the folder a command was given.
 *
 * @module @khosim/kho-core/fs
 */

export { pathInside, unsafeSegment } from "./paths.js";
