#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` through the prepare script):
// dist/bundle/main.js, the bundled form that starts faster, or the plain tsc output without it.
import { existsSync } from "node:fs";
import module from "node:module";

// Node ≥ 22.1 can keep V8's compiled code between runs (in its own cache folder, checked against each
// file's content; NODE_DISABLE_COMPILE_CACHE=1 turns it off). Node 20 has no such switch and skips this.
module.enableCompileCache?.();

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

const bundled = new URL("../dist/bundle/main.js", import.meta.url);
const { main } = await import(existsSync(bundled) ? bundled.href : "../dist/cli/main.js");

process.exitCode = await main(process.argv.slice(2));
