#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` through the prepare script):
// dist/bundle/main.cjs, the bundled form that starts faster, or the plain tsc output without it.
import { existsSync } from "node:fs";
import module, { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

// Record the NODE_EXTRA_CA_CERTS Node read at start-up (its default trust store holds it), before anything
// can change the environment: the HTTPS transport then keeps Node's store instead of building its own
// (src/http/transport.ts, STARTUP_EXTRA_CA).
globalThis[Symbol.for("exo-cba.startup-node-extra-ca-certs")] = process.env.NODE_EXTRA_CA_CERTS ?? "";
// When the reader of our output goes away (`exo-cba invoke Get-Mailbox | head -1`), the next write fails
// with EPIPE. Like git or cat, stop there quietly: the reader has what it wanted. Any other stream error
// is still thrown.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const bundleDir = new URL("../dist/bundle/", import.meta.url);
let main;
if (existsSync(new URL("main.cjs", bundleDir))) {
  // V8's compiled code of the bundle is kept between runs (src/cli/compile-cache.ts; Node's own cache on
  // Node ≥ 22.1; NODE_DISABLE_COMPILE_CACHE=1 turns it off).
  const { enableCompileCache } = await import("../dist/cli/compile-cache.js");
  enableCompileCache(fileURLToPath(bundleDir));
  ({ main } = createRequire(import.meta.url)(fileURLToPath(new URL("main.cjs", bundleDir))));
} else {
  module.enableCompileCache?.();
  ({ main } = await import("../dist/cli/main.js"));
}

process.exitCode = await main(process.argv.slice(2));
