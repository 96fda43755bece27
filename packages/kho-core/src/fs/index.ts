export { pathInside, unsafeSegment } from "./paths.js";
