import { defineConfig } from "vitest/config";

export default defineConfig({
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  ssr: { resolve: { conditions: ["@khosim/source", "module", "node", "development|production"] } },
  resolve: { conditions: ["@khosim/source", "module", "node", "development|production"] },
  test: {
    setupFiles: ["reflect-metadata"],
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
