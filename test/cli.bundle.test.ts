import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import module from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpTransport } from "../src/http/transport.js";
import { createAppCertificate, type TestCertificate } from "./helpers/invoke-wire.js";
import { type ProvisionedApp, provisionApp } from "./helpers/provision.js";

/**
 * The CLI as users start it: `bin/exo-cba.js` loading the rolldown bundle of `npm run build`
 * (dist/bundle/, minified CommonJS, with MSAL's jsonwebtoken replaced by a lazy stand-in). Every other CLI test
 * imports src/ in-process; this one proves the bundled form signs in and runs a cmdlet end to end, and
 * that a typed error keeps its name and exit code after minification.
 */
const root = new URL("..", import.meta.url).pathname;
const bin = join(root, "bin", "exo-cba.js");
const bundleDir = join(root, "dist", "bundle");

let emu: RunningEmulator;
let transport: HttpTransport;
let cert: TestCertificate;
let app: ProvisionedApp;
let dir: string;

beforeAll(async () => {
  if (!existsSync(join(bundleDir, "main.cjs"))) {
    throw new Error("dist/bundle/ is missing: run `npm run build` first (npm test does).");
  }
  [emu, cert] = await Promise.all([startEmulator({ mailboxes: 1500 }), createAppCertificate()]);
  transport = new HttpTransport({ caPem: [emu.caPem] });
  app = await provisionApp(emu, transport, { certificatePem: cert.certificatePem });
  dir = await mkdtemp(join(tmpdir(), "exo-bundle-"));
  await writeFile(join(dir, "app.pem"), `${cert.certificatePem}\n${cert.privateKeyPem}`, { mode: 0o600 });
});
afterAll(async () => {
  transport?.close();
  await emu?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Run the bundled CLI; `hangUpAfterFirstChunk` closes our end of its stdout as `head -1` would. */
function run(args: string[], extraEnv: NodeJS.ProcessEnv = {}, { hangUpAfterFirstChunk = false } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: {
        PATH: process.env.PATH ?? "",
        ...emu.env,
        EXO_CBA_HOME: join(dir, "home"),
        XDG_CACHE_HOME: join(dir, "cache"),
        EXO_ORGANIZATION: emu.tenant.domain,
        EXO_CERTIFICATE_FILE_PATH: join(dir, "app.pem"),
        ...extraEnv,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
      if (hangUpAfterFirstChunk) child.stdout.destroy();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("the bundled CLI (bin/exo-cba.js → dist/bundle)", () => {
  it("contains no copy of jsonwebtoken: MSAL gets our own client assertion", async () => {
    const files = (await readdir(bundleDir)).filter((f) => f.endsWith(".cjs"));
    for (const f of files) {
      // jsonwebtoken's sign() throws this message for a missing secret; the lazy stand-in has no such text.
      expect(await readFile(join(bundleDir, f), "utf8"), f).not.toContain(
        "secretOrPrivateKey must have a value",
      );
    }
  });

  it("loads neither a command's declaration nor zod for a bare --version", async () => {
    // The files `main.cjs` requires at load, transitively (a lazy `Promise.resolve().then(() => require(…))`,
    // the bundle's form of a dynamic import(), is not followed).
    const loaded = new Set<string>();
    const visit = async (file: string) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      const code = await readFile(join(bundleDir, file), "utf8");
      for (const m of code.matchAll(/(?<!then\(\(\)=>)require\("\.\/([^"]+\.cjs)"\)/g)) await visit(m[1]!);
    };
    await visit("main.cjs");
    const text = (await Promise.all([...loaded].map((f) => readFile(join(bundleDir, f), "utf8")))).join("\n");
    expect(text).toContain("print the version");
    // zod/mini's base schema names itself; an example of `doctor --help` marks the command declarations.
    expect(text).not.toContain("ZodMiniType");
    expect(text).not.toContain("exo-cba doctor --profile contoso --warn-days 45");
    const all = await Promise.all(
      (await readdir(bundleDir))
        .filter((f) => f.endsWith(".cjs"))
        .map((f) => readFile(join(bundleDir, f), "utf8")),
    );
    expect(all.some((c) => c.includes("ZodMiniType"))).toBe(true);
    expect(all.some((c) => c.includes("exo-cba doctor --profile contoso --warn-days 45"))).toBe(true);
  });

  it("does not load node:child_process to print the version (commander's require of it is lazy)", async () => {
    const probe = `require(${JSON.stringify(join(bundleDir, "main.cjs"))}).main(["--version"]).then(() =>
      console.error(process.moduleLoadList.filter((m) => /child_process|dgram/.test(m)).join(",") || "none"))`;
    const child = spawn(process.execPath, ["-e", probe], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    await new Promise((resolve) => child.on("close", resolve));
    expect(stderr.trim()).toBe("none");
  });

  // Node ≥ 22.1 keeps the cache itself (enableCompileCache hands it our directory); the files and the
  // check below are those of our require hook, which is what Node 20 (CI) uses.
  const hasNativeCache =
    typeof (module as { enableCompileCache?: unknown }).enableCompileCache === "function";
  it.skipIf(hasNativeCache)(
    "keeps V8's compiled code between runs, owner-only; a warm start rewrites nothing",
    async () => {
      const cacheHome = join(dir, "cache-runs");
      const cacheDir = join(
        cacheHome,
        "exo-cba",
        "compile-cache",
        `v8-${process.versions.v8}-${process.arch}`,
      );
      const first = await run(["--version"], { XDG_CACHE_HOME: cacheHome });
      expect(first.code).toBe(0);
      const entries = async () =>
        Object.fromEntries(
          await Promise.all(
            (await readdir(cacheDir)).map(async (f) => {
              const st = await stat(join(cacheDir, f));
              return [f, `${st.ino}:${st.mtimeMs}:${st.mode & 0o777}`] as const;
            }),
          ),
        );
      const written = await entries();
      // main, the runtime and the CLI frame: what --version loads.
      expect(Object.keys(written).length).toBeGreaterThanOrEqual(3);
      for (const [name, facts] of Object.entries(written)) {
        expect(name).toMatch(/^[0-9a-f]{32}\.v8$/);
        expect(facts.endsWith(":384")).toBe(true); // 0o600
      }
      expect((await stat(cacheDir)).mode & 0o777).toBe(0o700);
      // V8 accepted every entry: a rejected one would have been written again.
      const second = await run(["--version"], { XDG_CACHE_HOME: cacheHome });
      expect(second.stdout).toBe(first.stdout);
      expect(await entries()).toEqual(written);
    },
  );

  it("writes no cache with NODE_DISABLE_COMPILE_CACHE=1", async () => {
    const cacheHome = join(dir, "cache-off");
    const r = await run(["--version"], { XDG_CACHE_HOME: cacheHome, NODE_DISABLE_COMPILE_CACHE: "1" });
    expect(r.code).toBe(0);
    expect(existsSync(cacheHome)).toBe(false);
  });

  it("signs in with a certificate file and runs Get-OrganizationConfig", { timeout: 60_000 }, async () => {
    const r = await run(["invoke", "Get-OrganizationConfig", "--output", "json"], { EXO_APP_ID: app.appId });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows[0])).toContain(emu.tenant.domain);
  });

  it("maps an unknown app to the authentication exit code with Entra's error", {
    timeout: 60_000,
  }, async () => {
    const r = await run(["invoke", "Get-OrganizationConfig"], {
      EXO_APP_ID: "99999999-9999-4999-8999-999999999999",
      EXO_HTTP_RETRIES: "0",
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/AADSTS700016/);
  });

  it("stops quietly when the reader of its output goes away (`… | head -1`)", {
    timeout: 120_000,
  }, async () => {
    // Rows are written as they arrive; closing the pipe after the first chunk makes the next write fail
    // with EPIPE. The CLI must end without a stack trace, as `git log | head -1` does.
    const r = await run(
      ["invoke", "Get-Mailbox", "-ResultSize", "Unlimited", "--output", "ndjson"],
      { EXO_APP_ID: app.appId },
      { hangUpAfterFirstChunk: true },
    );
    expect(r.stdout).not.toBe("");
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|at .*\.js:\d+/);
    expect(r.code).toBe(0);
  });
});
