/**
 * Writes docs/abi/ from the core ABI schemas: `npm run docs` runs this file
 * from the compiled output.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { renderAbiDocs } from "./core.js";

// dist/abi/gen-docs.js -> repository root is four levels up.
const out = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../docs/abi");
mkdirSync(out, { recursive: true });
for (const [name, text] of renderAbiDocs()) writeFileSync(join(out, name), text);
console.log(`wrote ${out}`);
