// `npm run build`, second step: the CLI's modules and its dependencies bundled into a few files under
// dist/bundle/ (one for what every command needs, one chunk per lazily loaded part). Loading ~300 small
// ES modules (MSAL alone is ~120) costs more start-up time than the code itself; bin/exo-cba.js loads the
// bundle (docs/architecture.md, "Start-up"). The library entry point (dist/index.js) stays the plain tsc
// output. better-sqlite3 stays external: it is a native addon. The emulator (the @exo-cba/emulator
// workspace package, built first into packages/emulator/dist/) is bundled too, in its own lazy chunks.
import { rm } from "node:fs/promises";
import { build } from "rolldown";

const root = new URL("../", import.meta.url);
const outDir = new URL("dist/bundle/", root).pathname;
/** The emulator package's files (loaded only by `emulator` and `demo`) never join the shared chunks. */
const inEmulator = (id) => /[\\/]packages[\\/]emulator[\\/]/.test(id);
const grouped = (pattern) => (id) => !inEmulator(id) && pattern.test(id);
const ours = (pattern) => (id) => !/[\\/]node_modules[\\/]/.test(id) && grouped(pattern)(id);
await rm(outDir, { recursive: true, force: true });
// MSAL imports jsonwebtoken (and with it semver, jws, lodash.*: ~150 KB whose evaluation builds regexes)
// only to sign a certificate assertion in `ClientAssertion.fromCertificate`. exo-cba always hands MSAL its
// own assertion (src/auth/certificate.ts), so in the bundle the import becomes a stand-in that loads the
// real package from node_modules on first use only: same behaviour if anything ever calls it, nothing
// loaded on the way to the first request otherwise.
const LAZY_JSONWEBTOKEN = "\0lazy-jsonwebtoken";
const lazyJsonwebtoken = {
  name: "lazy-jsonwebtoken",
  resolveId(source, importer) {
    if (source === "jsonwebtoken" && importer && /[\\/]@azure[\\/]msal-node[\\/]/.test(importer)) {
      return LAZY_JSONWEBTOKEN;
    }
    return null;
  },
  load(id) {
    if (id !== LAZY_JSONWEBTOKEN) return null;
    return `import { createRequire } from "node:module";
let real;
function load() {
  if (!real) {
    const fromHere = createRequire(import.meta.url);
    real = createRequire(fromHere.resolve("@azure/msal-node"))("jsonwebtoken");
  }
  return real;
}
export default {
  sign: (...args) => load().sign(...args),
  verify: (...args) => load().verify(...args),
  decode: (...args) => load().decode(...args),
};
`;
  },
};

// commander requires node:child_process at load, for subcommands that are separate executables (we have
// none). Loading it pulls in dgram and the process-spawning bindings: a few milliseconds of every start,
// `--version` included. Its one use, `spawn`, now loads the module on first call.
const LAZY_CHILD_PROCESS = "\0lazy-child-process";
const lazyChildProcess = {
  name: "lazy-child-process",
  resolveId(source, importer) {
    if (source === "node:child_process" && importer && /[\\/]commander[\\/]/.test(importer)) {
      return LAZY_CHILD_PROCESS;
    }
    return null;
  },
  load(id) {
    if (id !== LAZY_CHILD_PROCESS) return null;
    return `let real;
module.exports = { spawn: (...args) => (real ??= require("node:child_process")).spawn(...args) };
`;
  },
};

await build({
  input: { main: new URL("dist/cli/main.js", root).pathname },
  platform: "node",
  external: ["better-sqlite3"],
  plugins: [lazyJsonwebtoken, lazyChildProcess],
  logLevel: "warn",
  // Modules both imported lazily and statically end up in one chunk: expected here, not worth a warning.
  onLog(level, log, handler) {
    if (log.code !== "INEFFECTIVE_DYNAMIC_IMPORT") handler(level, log);
  },
  treeshake: { moduleSideEffects: (id) => !/[\\/]@azure[\\/]msal-(node|common)[\\/]/.test(id) },
  output: {
    // Smaller files parse faster: minified, the invoke path loads ~370 KB instead of ~790 KB. Names are kept
    // (error classes name themselves through `new.target.name`).
    minify: true,
    keepNames: true,
    dir: outDir,
    // CommonJS: on Node 20, which has no compile cache of its own, a `require` hook can give V8 its cached
    // code for these files (src/cli/compile-cache.ts); an ES module cannot be given any. It also links
    // faster than the ES module loader. The sources stay ES modules; `import.meta.url` becomes the file's URL.
    format: "cjs",
    // Chunks sit two levels below the package root like the tsc output's dist/<area>/*.js, so the
    // `new URL("../../package.json", import.meta.url)` of the sources resolves the same.
    entryFileNames: "[name].cjs",
    // The emulator package's entry is packages/emulator/dist/index.js: its chunk would be called "dist".
    chunkFileNames: (chunk) => (chunk.name === "dist" ? "emulator-[hash].cjs" : "[name]-[hash].cjs"),
    // Few, larger chunks: each file costs a resolve/read/link of its own. What every command line needs
    // (the CLI frame, commander) is one chunk; every command's declaration another (a bare `--version`
    // does not load it); what connecting needs (clients, auth, transport, config, certificate store,
    // session) a third, and MSAL with its dependencies a fourth, loaded on the first sign-in. zod/mini,
    // which parses a command's options, is a chunk
    // of its own, loaded when a command runs (never for --version or --help).
    codeSplitting: {
      groups: [
        {
          name: "cli",
          test: grouped(
            /[\\/]dist[\\/](cli[\\/](?!commands[\\/]|define-command|option-schemas|common-options|numbers|zod|prompt)|log[\\/](log|command-log|redact)\b|errors\b)|[\\/]commander[\\/]/,
          ),
        },
        {
          name: "commands",
          test: grouped(
            /[\\/]dist[\\/]cli[\\/](commands[\\/]|define-command|option-schemas|common-options|numbers)/,
          ),
        },
        {
          name: "connect",
          // Our own dist/ only: MSAL's packages have dist/config/, dist/utils/… folders of their own.
          test: ours(
            /[\\/]dist[\\/]((exchange|http|config|cloud|util)[\\/]|auth[\\/](?!admin\.js))|[\\/]dist[\\/]session[\\/]session\.js|[\\/]dist[\\/]cert[\\/](credential|store|inspect|keys|pem|types)\.js/,
          ),
        },
        // MSAL in a chunk of its own, imported on the first sign-in while the discovery document is already
        // on its way (src/auth/authority-metadata.ts): the first request does not wait for its ~230 KB.
        {
          name: "msal",
          test: grouped(
            /[\\/]node_modules[\\/](@azure|jsonwebtoken|jws|jwa|semver|lodash\.[a-z]+|ms|safe-buffer|buffer-equal-constant-time|ecdsa-sig-formatter|uuid)[\\/]/,
          ),
        },
      ],
    },
  },
});
