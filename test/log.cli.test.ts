import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertStore } from "../src/cert/index.js";
import { HttpTransport } from "../src/http/transport.js";
import { jsonRecords, runCli } from "./helpers/ops-cli.js";
import { profileOf, provisionedHome } from "./helpers/ops-emulator.js";

/**
 * Unattended runs with `--log-format json`: real commands against the emulator, then the whole output
 * (stdout, stderr, the log file) is scanned for every secret the run handled — the admin token, the
 * app's access tokens (any JWT), the private keys of the old and new certificates, a password.
 */
let emu: RunningEmulator;
let transport: HttpTransport;
let home: string;
let env: NodeJS.ProcessEnv;
const savedExtraCa = process.env.NODE_EXTRA_CA_CERTS;
const PASSWORD = "Unattended-Pfx-Passw0rd!";

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: 3 });
  transport = new HttpTransport({ caPem: [emu.caPem] });
  process.env.NODE_EXTRA_CA_CERTS = emu.caFile;
  ({ home, env } = await provisionedHome(emu, transport, "logs"));
});
afterAll(async () => {
  if (savedExtraCa === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
  else process.env.NODE_EXTRA_CA_CERTS = savedExtraCa;
  transport?.close();
  await emu?.close();
});

/** Base64 body lines of a PEM private key: any of them in the output would be a leak. */
function keyLines(pem: string): string[] {
  return pem.split("\n").filter((l) => l.length >= 40 && !l.startsWith("-----"));
}
async function privateKeyOf(thumbprint: string) {
  return (await (await CertStore.open(home, {})).credential(thumbprint)).privateKeyPem;
}
function expectNoSecrets(text: string, secrets: string[]) {
  // Every access token and assertion the emulator or we produce is a JWT; none may appear in any form.
  expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
  for (const s of secrets) expect(text.includes(s), `secret leaked: ${s.slice(0, 12)}…`).toBe(false);
}

describe("--log-format json on real runs", () => {
  it("doctor with an admin token: records per check and per cmdlet, no secret anywhere", async () => {
    const adminToken = emu.issueAdminToken();
    const thumbprint = (await profileOf(home, "logs")).certificateThumbprint!;
    const r = await runCli(["--log-format", "json", "doctor", "--profile", "logs"], {
      ...env,
      EXO_ADMIN_ACCESS_TOKEN: adminToken,
      EXO_CERTIFICATE_PASSWORD: PASSWORD,
    });
    expect(r.code).toBe(0);
    const records = jsonRecords(r.stderr);
    const runIds = new Set(records.map((x) => x.runId));
    expect(runIds.size).toBe(1);
    expect(records.filter((x) => x.event === "doctor.check")).toHaveLength(10);
    const cmdlet = records.find((x) => x.event === "cmdlet.end")!;
    expect(cmdlet).toMatchObject({ cmdlet: "Get-OrganizationConfig", status: "ok", command: "doctor" });
    expect(typeof cmdlet.durationMs).toBe("number");
    expect(typeof cmdlet.retries).toBe("number");
    expect(records.at(-1)).toMatchObject({ event: "command.end", status: "ok", exitCode: 0 });
    expectNoSecrets(r.stdout + r.stderr, [adminToken, PASSWORD, ...keyLines(await privateKeyOf(thumbprint))]);
  });

  it("self-rotation with --log-file: steps recorded in an owner-only file, no key or token leaked", async () => {
    const before = (await profileOf(home, "logs")).certificateThumbprint!;
    const oldKey = await privateKeyOf(before);
    const logFile = join(await mkdtemp(join(tmpdir(), "exo-logfile-")), "rotate.log");
    const r = await runCli(
      ["--log-format", "json", "--log-file", logFile, "cert", "rotate", "--profile", "logs", "--self"],
      { ...env, EXO_CERTIFICATE_PASSWORD: PASSWORD },
    );
    expect(r.code).toBe(0);
    const after = (await profileOf(home, "logs")).certificateThumbprint!;
    expect(after).not.toBe(before);
    const fileText = await readFile(logFile, "utf8");
    if (process.platform !== "win32") expect((await stat(logFile)).mode & 0o777).toBe(0o600);
    const steps = jsonRecords(fileText)
      .filter((x) => x.event === "rotate.step")
      .map((x) => x.step);
    expect(steps).toEqual(["certificate", "added", "verified", "switched", "removed"]);
    expectNoSecrets(r.stdout + r.stderr + fileText, [
      PASSWORD,
      ...keyLines(oldKey),
      ...keyLines(await privateKeyOf(after)),
    ]);
  });

  it("a failing run logs the typed error (exit code, AADSTS code) without the token or assertion", async () => {
    const r = await runCli(
      [
        "--log-format",
        "json",
        "doctor",
        "--profile",
        "logs",
        "--app-id",
        "99999999-9999-9999-9999-999999999999",
      ],
      env,
    );
    expect(r.code).toBe(8);
    const end = jsonRecords(r.stderr).find((x) => x.event === "command.end")!;
    expect(end).toMatchObject({ status: "error", exitCode: 8 });
    const token = jsonRecords(r.stderr).find((x) => x.event === "doctor.check" && x.check === "fresh token")!;
    expect(token.status).toBe("fail");
    expect(String(token.detail)).toContain("AADSTS700016");
    expectNoSecrets(r.stdout + r.stderr, []);
  });

  it("invoke: a cmdlet.end record with status, duration, request ids, retries; no token anywhere", async () => {
    const thumbprint = (await profileOf(home, "logs")).certificateThumbprint!;
    const logFile = join(await mkdtemp(join(tmpdir(), "exo-logfile-")), "invoke.log");
    const r = await runCli(
      [
        "--log-format",
        "json",
        "--log-file",
        logFile,
        "invoke",
        "Get-Mailbox",
        "-ResultSize",
        "Unlimited",
        "--profile",
        "logs",
        "--output",
        "json",
      ],
      { ...env, EXO_CERTIFICATE_PASSWORD: PASSWORD },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveLength(3);
    const fileText = await readFile(logFile, "utf8");
    for (const records of [jsonRecords(r.stderr), jsonRecords(fileText)]) {
      const ends = records.filter((x) => x.event === "cmdlet.end");
      expect(ends).toHaveLength(1);
      const end = ends[0]!;
      expect(end).toMatchObject({
        command: "invoke",
        cmdlet: "Get-Mailbox",
        status: "ok",
        rows: 3,
        pages: 1,
        requests: 1,
        retries: 0,
      });
      expect(typeof end.durationMs).toBe("number");
      expect(end.tokenRequests).toBe(1);
      expect(end.clientRequestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(end.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(end.requestIds).toEqual([end.requestId]);
      expect(end.runId).toBe(records[0]!.runId);
    }
    expectNoSecrets(r.stdout + r.stderr + fileText, [PASSWORD, ...keyLines(await privateKeyOf(thumbprint))]);
  });

  it("invoke that fails: cmdlet.end has status error and the typed error, redacted", async () => {
    const r = await runCli(
      ["--log-format", "json", "invoke", "Get-Mailbox", "-Identity", "nobody-here", "--profile", "logs"],
      env,
    );
    expect(r.code).toBe(5);
    const end = jsonRecords(r.stderr).find((x) => x.event === "cmdlet.end")!;
    expect(end).toMatchObject({ cmdlet: "Get-Mailbox", status: "error", rows: 0 });
    expect(end.error).toMatchObject({ error: "ServerError" });
    expect(typeof end.retries).toBe("number");
    expectNoSecrets(r.stdout + r.stderr, []);
  });

  it("test: test.step records and a cmdlet.end for Get-OrganizationConfig", async () => {
    const r = await runCli(["--log-format", "json", "test", "--profile", "logs", "--output", "json"], env);
    expect(r.code, r.stderr).toBe(0);
    const records = jsonRecords(r.stderr);
    expect(records.filter((x) => x.event === "test.step").map((x) => x.step)).toEqual([
      "certificate",
      "token",
      "permission",
      "role",
      "cmdlet",
    ]);
    expect(records.find((x) => x.event === "cmdlet.end")).toMatchObject({
      command: "test",
      cmdlet: "Get-OrganizationConfig",
      status: "ok",
      rows: 1,
    });
    expectNoSecrets(r.stdout + r.stderr, []);
  });

  it("report usage: cmdlet.end for the listings only, one report.tenant summary", async () => {
    const thumbprint = (await profileOf(home, "logs")).certificateThumbprint!;
    const r = await runCli(
      ["--log-format", "json", "report", "usage", "--profile", "logs", "--output", "json"],
      {
        ...env,
        EXO_CERTIFICATE_PASSWORD: PASSWORD,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const records = jsonRecords(r.stderr);
    const cmdlets = records.filter((x) => x.event === "cmdlet.end");
    // Recipients, mailboxes, inactive mailboxes: the per-mailbox statistics calls are not logged one by one.
    expect(cmdlets.length).toBeGreaterThanOrEqual(3);
    for (const c of cmdlets) {
      expect(String(c.cmdlet)).not.toMatch(/Statistics/);
      expect(typeof c.durationMs).toBe("number");
    }
    const tenants = records.filter((x) => x.event === "report.tenant");
    expect(tenants).toHaveLength(1);
    const t = tenants[0]!;
    expect(t).toMatchObject({
      command: "report usage",
      tenant: emu.tenant.domain.toLowerCase(),
      status: "complete",
      mailboxes: 3,
      failures: 0,
      throttled: 0,
    });
    expect(t.calls).toMatchObject({ statistics: 3 });
    expect(typeof t.durationMs).toBe("number");
    expect(typeof t.requests).toBe("number");
    expect(typeof t.retries).toBe("number");
    expectNoSecrets(r.stdout + r.stderr, [PASSWORD, ...keyLines(await privateKeyOf(thumbprint))]);
  });

  it("setup: one setup.step record per progress line, the admin token never written", async () => {
    const adminToken = emu.issueAdminToken();
    const setupHome = await mkdtemp(join(tmpdir(), "exo-logs-setup-"));
    const r = await runCli(
      [
        "--log-format",
        "json",
        "setup",
        "--organization",
        emu.tenant.domain,
        "--role",
        "global-reader",
        "--app-name",
        "logs-setup",
        "--yes",
        "--output",
        "json",
      ],
      { ...emu.env, EXO_CBA_HOME: setupHome, EXO_ADMIN_ACCESS_TOKEN: adminToken },
    );
    expect(r.code, r.stderr).toBe(0);
    const steps = jsonRecords(r.stderr).filter((x) => x.event === "setup.step");
    const progressLines = r.stderr.split("\n").filter((l) => /^\[\s*\d+\.\ds\]/.test(l));
    expect(steps.length).toBeGreaterThan(3);
    expect(steps).toHaveLength(progressLines.length);
    for (const s of steps) {
      expect(typeof s.step).toBe("string");
      expect(["start", "waiting", "done", "failed"]).toContain(s.status);
      expect(typeof s.elapsedMs).toBe("number");
    }
    expect(steps.some((s) => s.step === "verify" && s.status === "done")).toBe(true);
    expectNoSecrets(r.stdout + r.stderr, [adminToken]);
  });
});
