// Writes docs/scenario.schema.json, the JSON Schema of scenario files, from the zod schema kho sim validates with.
// `npm run docs` runs it after the build; packages/cli/test/scenario-schema.test.ts fails when it is stale.
import { writeFileSync } from "node:fs";
import { scenarioJsonSchema } from "@khosim/kho-core";

writeFileSync(
  new URL("../docs/scenario.schema.json", import.meta.url),
  `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`,
);
