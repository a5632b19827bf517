/**
 * `@exo-cba/emulator/testing`: the harnesses the emulator's tests use, for the tests of code that runs
 * against the emulator (exo-cba's conformance and CLI tests). Resolvable only in this repository's
 * development setup (the `exo-cba-source` condition of package.json "exports"); not in dist/, not shipped.
 */
export * from "./identity.js";
export * from "./vb365-client.js";
