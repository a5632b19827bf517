import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // a private TMPDIR per run, removed at the end (test/global-setup.ts)
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores on CI: a fork per core keeps RSA key generation and the emulator from starving each other.
    pool: "forks",
    maxWorkers: 2,
  },
});
