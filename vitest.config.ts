import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // `@exo-cba/emulator` resolves to the workspace package's TypeScript sources, not its dist/
  // (packages/emulator/package.json "exports"), so tests need no build of the emulator first.
  ssr: { resolve: { conditions: ["exo-cba-source", ...defaultServerConditions] } },
  test: {
    include: [
      "src/**/*.test.ts",
      "test/**/*.test.ts",
      "packages/*/src/**/*.test.ts",
      "packages/*/test/**/*.test.ts",
    ],
    // a private TMPDIR per run, removed at the end (test/global-setup.ts)
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores on CI: a fork per core keeps RSA key generation and the emulator from starving each other.
    pool: "forks",
    maxWorkers: 2,
  },
});
