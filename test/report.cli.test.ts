import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { HttpTransport } from "../src/http/transport.js";
import { capturedContext } from "./helpers/cli.js";
import { createAppCertificate } from "./helpers/invoke-wire.js";
import { provisionCliApp, ROLE } from "./helpers/provision.js";

/**
 * `exo-cba report usage` end to end in-process: flags and EXO_* variables, a PEM certificate file,
 * the emulator's CA through NODE_EXTRA_CA_CERTS, files on disk, summary on stdout, exit codes.
 */
let emu: RunningEmulator;
let dir: string;
let env: NodeJS.ProcessEnv;
const savedCa = process.env.NODE_EXTRA_CA_CERTS;

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: 40, seed: 3 });
  const transport = new HttpTransport({ caPem: [emu.caPem] });
  ({ dir, env } = await provisionCliApp(emu, transport, {
    commonName: "exo-cba-report-cli",
    role: ROLE.globalReader,
    folderPrefix: "exo-report-cli-",
  }));
  transport.close();
  // The transport reads NODE_EXTRA_CA_CERTS from the process, as a child process would.
  process.env.NODE_EXTRA_CA_CERTS = emu.caFile;
});

afterAll(async () => {
  if (savedCa === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
  else process.env.NODE_EXTRA_CA_CERTS = savedCa;
  await emu?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function context() {
  const c = capturedContext(env);
  return { ctx: c.ctx, out: c.stdout, err: c.stderr };
}

describe("exo-cba report usage (CLI against the emulator)", () => {
  it("writes csv, json and html, prints the summary as JSON, and stores the run for growth", async () => {
    const truth = emu.expectedUsage();
    const outDir = join(dir, "out");
    const c = context();
    const code = await main(
      [
        "report",
        "usage",
        "--format",
        "csv,json,html",
        "--out",
        outDir,
        "--output",
        "json",
        "--concurrency",
        "4",
      ],
      c.ctx,
    );
    expect(c.err()).not.toContain("error");
    expect(code).toBe(0);
    const summary = JSON.parse(c.out());
    expect(summary.combined.totals.totalProtectedBytes).toBe(truth.totalProtectedBytes);
    expect(summary.combined.counts.recipients).toBe(truth.recipients);
    const name = `usage-${emu.tenant.domain}`;
    expect((await readdir(outDir)).sort()).toEqual([`${name}.csv`, `${name}.html`, `${name}.json`]);
    const json = JSON.parse(await readFile(join(outDir, `${name}.json`), "utf8"));
    expect(json.mailboxes).toHaveLength(truth.mailboxes);
    // non-terminal stderr: plain progress lines, no carriage returns
    expect(c.err()).toMatch(/mailboxes \(100%\)/);
    expect(c.err()).not.toContain("\r");
    expect(c.err()).toContain(`wrote ${join(outDir, `${name}.csv`)}`);

    // a second run shows growth (0 bytes: same data) once two complete runs exist
    const again = context();
    expect(await main(["report", "usage", "--output", "json"], again.ctx)).toBe(0);
    const second = JSON.parse(again.out());
    expect(second.tenants[0].growth.growthBytes).toBe(0);
    expect(second.tenants[0].growth.points).toHaveLength(2);
  });

  it("prints a human table with binary units by default", async () => {
    const c = context();
    expect(await main(["report", "usage", "--concurrency", "2"], c.ctx)).toBe(0);
    expect(c.out()).toMatch(/^tenant\s+recipients\s+mailboxes/m);
    expect(c.out()).toContain("1 GiB = 1024³ bytes");
    expect(c.out()).toMatch(/(KiB|MiB|GiB)/);
  });

  it("exits 3 with the AADSTS code when the certificate is not the app's", async () => {
    const other = await createAppCertificate("CN=not-registered");
    const pem = join(dir, "other.pem");
    await writeFile(pem, `${other.certificatePem}${other.privateKeyPem}`, { mode: 0o600 });
    const c = context();
    c.ctx.env = { ...env, EXO_CERTIFICATE_FILE_PATH: pem };
    expect(await main(["report", "usage"], c.ctx)).toBe(3);
    expect(c.err()).toMatch(/AADSTS\d+/);
  });
});
