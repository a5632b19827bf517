import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { CliContext } from "../src/cli/context.js";
import { main } from "../src/cli/main.js";
import { AuthorizationError } from "../src/errors.js";
import { connectExchangeOnline, type ExchangeConnection } from "../src/exchange/connect.js";
import { HttpTransport } from "../src/http/transport.js";
import { createAppCertificate, type TestCertificate } from "./helpers/invoke-wire.js";
import { assignDirectoryRole, type ProvisionedApp, provisionApp, ROLE } from "./helpers/provision.js";

/**
 * The invoke path against the in-process emulator: app-only sign-in with a registered certificate,
 * paging across many pages, fault injection (429, 5xx, drops, token expiry mid-stream) delivering the
 * exact fault-free row set once each, 401/403 diagnosis, and CLI exit codes.
 */
const MAILBOXES = 120;
const PAGE = 10;

let emu: RunningEmulator;
let transport: HttpTransport;
let cert: TestCertificate;
let app: ProvisionedApp;
let clockOffsetMs = 0;
let dir: string;

/** Retries wait at most 100 ms (real), so throttling tests stay fast without faking the server's clock. */
const fastRetry = { sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 100))) };

function connect(
  extra: Partial<Parameters<typeof connectExchangeOnline>[0]> = {},
): Promise<ExchangeConnection> {
  return connectExchangeOnline({
    appId: app.appId,
    organization: emu.tenant.domain,
    certificate: { certificatePem: cert.certificatePem, privateKeyPem: cert.privateKeyPem },
    endpoints: {
      authorityHost: emu.authorityHost,
      graphEndpoint: emu.graphEndpoint,
      exchangeEndpoint: emu.exchangeEndpoint,
    },
    transport,
    retry: fastRetry,
    ...extra,
  });
}

const identities = (rows: Array<Record<string, unknown>>) =>
  rows.map((r) => String(r.Guid ?? r.ExchangeGuid ?? r.PrimarySmtpAddress));

let faultFree: string[];

beforeAll(async () => {
  [emu, cert] = await Promise.all([
    startEmulator({ mailboxes: MAILBOXES, clock: () => Date.now() + clockOffsetMs }),
    createAppCertificate(),
  ]);
  transport = new HttpTransport({ caPem: [emu.caPem] });
  app = await provisionApp(emu, transport, {
    certificatePem: cert.certificatePem,
    role: ROLE.exchangeAdministrator,
  });
  dir = await mkdtemp(join(tmpdir(), "exo-invoke-emu-"));
});
afterAll(async () => {
  transport?.close();
  await emu?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  clockOffsetMs = 0;
  emu.configure({
    faults: {},
    throttle: {},
    tokenLifetimeSeconds: 3599,
    replicationDelayMs: 0,
    exchangeRoleDelayMs: 0,
  });
});

describe("invoke against the emulator", () => {
  it("signs in with the certificate and pages through every mailbox with one token", async () => {
    const exo = await connect();
    const rows = await exo.invoke("Get-Mailbox", { ResultSize: "Unlimited" }, { pageSize: PAGE });
    await exo.disconnect();
    faultFree = identities(rows);
    expect(rows).toHaveLength(emu.expectedUsage().mailboxes);
    expect(new Set(faultFree).size).toBe(rows.length);
    expect(exo.stats.tokenRequests).toBe(1);
    expect(exo.stats.requests).toBe(Math.ceil(rows.length / PAGE));
    expect(exo.stats.retries).toBe(0);
    // Normalised: no annotations left.
    expect(Object.keys(rows[0]!).some((k) => k.includes("@"))).toBe(false);
  });

  it("honours a numeric ResultSize exactly", async () => {
    const exo = await connect();
    const rows = await exo.invoke("Get-Mailbox", { ResultSize: 25 }, { pageSize: PAGE });
    await exo.disconnect();
    expect(identities(rows)).toEqual(faultFree.slice(0, 25));
  });

  it("one token for many invocations", async () => {
    const exo = await connect();
    for (let i = 0; i < 20; i++) await exo.invoke("Get-OrganizationConfig");
    await exo.disconnect();
    expect(exo.stats.tokenRequests).toBe(1);
  });

  it("delivers the exact row set once each through 5xx, drops and 429 bursts", async () => {
    emu.configure({
      faults: { errorRate: 0.3, dropRate: 0.1, seed: 42 },
      throttle: { ratePerSecond: 20, burst: 3 },
    });
    const exo = await connect();
    const rows = await exo.invoke("Get-Mailbox", { ResultSize: "Unlimited" }, { pageSize: PAGE });
    await exo.disconnect();
    expect(identities(rows)).toEqual(faultFree);
    expect(exo.stats.retries).toBeGreaterThan(0);
    const s = emu.stats();
    expect(s.faultsInjected + s.throttled).toBeGreaterThan(0);
  });

  it("refreshes a token that expires mid-stream, once, without losing or repeating rows", async () => {
    emu.configure({ tokenLifetimeSeconds: 400 });
    const exo = await connect();
    const seen: Array<Record<string, unknown>> = [];
    for await (const row of exo.stream("Get-Mailbox", { ResultSize: "Unlimited" }, { pageSize: PAGE })) {
      seen.push(row);
      // After the first page the server's clock jumps past the token's lifetime (still inside our
      // refresh margin, so only the server's 401 can tell us).
      if (seen.length === PAGE) clockOffsetMs = 401_000;
    }
    await exo.disconnect();
    expect(identities(seen)).toEqual(faultFree);
    expect(exo.stats.tokenRequests).toBe(2);
  });

  it("diagnoses a missing directory role (403) and a missing permission (401)", async () => {
    const noRole = await provisionApp(emu, transport, { certificatePem: cert.certificatePem, role: null });
    const e1 = await connect({ appId: noRole.appId })
      .then((c) => c.invoke("Get-Mailbox"))
      .catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(AuthorizationError);
    expect((e1 as AuthorizationError).reason).toBe("role-missing");
    expect((e1 as AuthorizationError).httpStatus).toBe(403);

    const noPermission = await provisionApp(emu, transport, {
      certificatePem: cert.certificatePem,
      permission: false,
    });
    const e2 = await connect({ appId: noPermission.appId })
      .then((c) => c.invoke("Get-Mailbox"))
      .catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(AuthorizationError);
    expect((e2 as AuthorizationError).reason).toBe("permission-missing");

    const reader = await provisionApp(emu, transport, {
      certificatePem: cert.certificatePem,
      role: ROLE.globalReader,
    });
    const readerConnection = await connect({ appId: reader.appId });
    expect(await readerConnection.invoke("Get-Mailbox", { ResultSize: 1 })).toHaveLength(1);
  });
});

describe("CLI exit codes against the emulator", () => {
  let pemPath: string;
  let otherPemPath: string;

  beforeAll(async () => {
    pemPath = join(dir, "app.pem");
    await writeFile(pemPath, `${cert.certificatePem}\n${cert.privateKeyPem}`, { mode: 0o600 });
    const other = await createAppCertificate("CN=not-registered");
    otherPemPath = join(dir, "other.pem");
    await writeFile(otherPemPath, `${other.certificatePem}\n${other.privateKeyPem}`, { mode: 0o600 });
  });

  async function run(args: string[]) {
    let stdout = "";
    let stderr = "";
    const sink = (append: (s: string) => void) =>
      new Writable({
        write(chunk, _e, cb) {
          append(chunk.toString());
          cb();
        },
      });
    const ctx: CliContext = {
      stdout: sink((s) => {
        stdout += s;
      }),
      stderr: sink((s) => {
        stderr += s;
      }),
      env: { ...emu.env, EXO_CBA_HOME: join(dir, "home") },
      interactive: false,
      debug: false,
      yes: false,
    };
    const code = await main(args, ctx);
    return { code, stdout, stderr };
  }

  const conn = (pem: () => string) => [
    "--app-id",
    app.appId,
    "--organization",
    emu.tenant.domain,
    "--certificate-file-path",
    pem(),
  ];

  it("invoke Get-Mailbox -ResultSize Unlimited → every mailbox as ndjson, exit 0", async () => {
    const r = await run([
      "invoke",
      "Get-Mailbox",
      "-ResultSize",
      "Unlimited",
      "-o",
      "ndjson",
      ...conn(() => pemPath),
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const rows = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(identities(rows)).toEqual(faultFree);
  });

  it("a certificate not registered on the app → exit 3 with AADSTS700027", async () => {
    const r = await run(["invoke", "Get-Mailbox", ...conn(() => otherPemPath)]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/AADSTS700027/);
    expect(r.stdout).toBe("");
  });

  it("a tenant that does not exist → exit 3 with AADSTS90002", async () => {
    const r = await run([
      "invoke",
      "Get-Mailbox",
      "--app-id",
      app.appId,
      "--organization",
      "nosuchtenant.onmicrosoft.com",
      "--certificate-file-path",
      pemPath,
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/AADSTS90002/);
  });

  it("test on a grant Exchange has not seen yet → exit 4, the propagation link, and 'wait a few minutes'", async () => {
    // The app is old enough for sign-in (the server's clock moves 400 s on), its role brand new.
    const fresh = await provisionApp(emu, transport, { certificatePem: cert.certificatePem, role: null });
    clockOffsetMs = 400_000;
    emu.configure({ exchangeRoleDelayMs: 300_000 });
    await assignDirectoryRole(emu, transport, fresh.servicePrincipalId, ROLE.exchangeAdministrator);
    const before = emu.stats().tokenRequests;
    const r = await run([
      "test",
      "--app-id",
      fresh.appId,
      "--organization",
      emu.tenant.domain,
      "--certificate-file-path",
      pemPath,
    ]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/ok +permission/);
    expect(r.stderr).toMatch(/FAIL propagation/);
    expect(r.stderr).toMatch(/if you just ran setup, wait a few minutes/);
    expect(r.stdout).toBe("");
    // The 403 was answered with a fresh token (not only a 401 would be): two token requests.
    expect(emu.stats().tokenRequests - before).toBe(2);
  });

  it("a token minted before the role reached Exchange is refused; the 403 fetches a new token, which works", async () => {
    const fresh = await provisionApp(emu, transport, { certificatePem: cert.certificatePem, role: null });
    await assignDirectoryRole(emu, transport, fresh.servicePrincipalId, ROLE.exchangeAdministrator);
    emu.configure({ exchangeRoleDelayMs: 60_000 });
    const exo = await connect({ appId: fresh.appId });
    await exo.tokenProvider.getToken(); // minted now: before the role arrives, cached for the hour
    clockOffsetMs = 62_000; // the role has reached Exchange; the cached token still predates it
    const before = emu.stats().tokenRequests;
    const rows = await exo.invoke("Get-OrganizationConfig");
    await exo.disconnect();
    expect(rows).toHaveLength(1);
    expect(emu.stats().tokenRequests - before).toBe(1);
    expect(exo.stats.tokenRequests).toBe(2);
  });

  it("a Security Reader app cannot read mailbox statistics: exit 4, naming its role group and Global Reader", async () => {
    const reader = await provisionApp(emu, transport, {
      certificatePem: cert.certificatePem,
      role: ROLE.securityReader,
    });
    const args = ["--app-id", reader.appId, "--organization", emu.tenant.domain, "--certificate-file-path"];
    const ok = await run(["invoke", "Get-OrganizationConfig", ...args, pemPath]);
    expect(ok.code).toBe(0);
    const r = await run(["invoke", "Get-MailboxStatistics", "-Identity", "user000001", ...args, pemPath]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("User is not allowed to call Get-MailboxStatistics");
    expect(r.stderr).toContain("Security Reader → Security Reader");
    expect(r.stderr).toContain("--role global-reader");
  });

  it("an unknown cmdlet → exit 5", async () => {
    const r = await run(["invoke", "Get-NoSuchThing", ...conn(() => pemPath)]);
    expect(r.code).toBe(5);
  });

  it("test → exit 0 and the role seen in the token", async () => {
    const r = await run(["test", "-o", "json", ...conn(() => pemPath)]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      result: "ok",
      roles: "Exchange Administrator",
      appId: app.appId,
    });
  });
});
