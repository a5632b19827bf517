import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores on CI: a fork per core keeps RSA key generation and the emulator from starving each other.
    pool: "forks",
    maxWorkers: 2,
  },
});
