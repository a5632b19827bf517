import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
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
 * (dist/bundle/, minified, with MSAL's jsonwebtoken replaced by a lazy stand-in). Every other CLI test
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
  if (!existsSync(join(bundleDir, "main.js"))) {
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
    const files = (await readdir(bundleDir)).filter((f) => f.endsWith(".js"));
    for (const f of files) {
      // jsonwebtoken's sign() throws this message for a missing secret; the lazy stand-in has no such text.
      expect(await readFile(join(bundleDir, f), "utf8"), f).not.toContain(
        "secretOrPrivateKey must have a value",
      );
    }
  });

  it("loads neither a command's declaration nor zod for a bare --version", async () => {
    // The files `main.js` imports statically, transitively (a dynamic import() is not followed).
    const loaded = new Set<string>();
    const visit = async (file: string) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      const code = await readFile(join(bundleDir, file), "utf8");
      for (const m of code.matchAll(/(?:from|import)\s*"\.\/([^"]+\.js)"/g)) await visit(m[1]!);
    };
    await visit("main.js");
    const text = (await Promise.all([...loaded].map((f) => readFile(join(bundleDir, f), "utf8")))).join("\n");
    expect(text).toContain("print the version");
    // zod/mini's base schema names itself; an example of `doctor --help` marks the command declarations.
    expect(text).not.toContain("ZodMiniType");
    expect(text).not.toContain("exo-cba doctor --profile contoso --warn-days 45");
    const all = await Promise.all(
      (await readdir(bundleDir))
        .filter((f) => f.endsWith(".js"))
        .map((f) => readFile(join(bundleDir, f), "utf8")),
    );
    expect(all.some((c) => c.includes("ZodMiniType"))).toBe(true);
    expect(all.some((c) => c.includes("exo-cba doctor --profile contoso --warn-days 45"))).toBe(true);
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
