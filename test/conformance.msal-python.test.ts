import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import {
  EmulatorClient,
  makeCertificate,
  type ProvisionedApp,
  provisionApp,
  type TestCertificate,
} from "@exo-cba/emulator/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Microsoft's Python client against the emulator, unpatched (docs/emulator.md, "Microsoft's other
 * clients"): MSAL Python as Debian packages it (python3-msal, what Azure CLI is built on) with its
 * default padded `x5t`, InvokeCommand paging with `requests`, and device code followed by a silent
 * renewal with the refresh token once the access token has expired. The script is
 * test/conformance/msal_python.py; .ci/run installs python3-msal and python3-requests.
 */

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./conformance/msal_python.py", import.meta.url));
const MAILBOXES = 23;
/** access-token lifetime for the device-code phase, so the silent renewal happens after expiry */
const SHORT_LIFETIME_S = 3;

function unavailableReason(): string | undefined {
  const probe = spawnSync(PYTHON, ["-c", "import msal, requests"], { encoding: "utf8" });
  if (probe.status === 0) return undefined;
  return `${PYTHON} cannot import msal and requests (apt-get install python3-msal python3-requests)`;
}
const UNAVAILABLE = unavailableReason();
// Off CI a contributor without Debian's python3-msal still runs the rest; the reason is printed so the
// skip is never silent. On CI (`CI` set) a missing package fails instead.
if (UNAVAILABLE && process.env.CI) throw new Error(UNAVAILABLE);
if (UNAVAILABLE) console.warn(`skipping the MSAL Python conformance test: ${UNAVAILABLE}`);

let emu: RunningEmulator;
let client: EmulatorClient;
let cert: TestCertificate;
let app: ProvisionedApp;

beforeAll(async () => {
  if (UNAVAILABLE) return;
  emu = await startEmulator({ mailboxes: MAILBOXES });
  client = new EmulatorClient(emu);
  cert = await makeCertificate();
  app = await provisionApp(client, emu.issueAdminToken(), { certs: [cert] });
});

afterAll(async () => {
  client?.close();
  await emu?.close();
});

function runPython(input: unknown): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/tmp",
        REQUESTS_CA_BUNDLE: emu.caFile,
        // loopback only: never a proxy, whatever the machine says
        NO_PROXY: "*",
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(JSON.stringify(input));
  });
}

describe.skipIf(UNAVAILABLE !== undefined)("MSAL Python against the emulator", () => {
  it("client credentials with its padded x5t, InvokeCommand paging, device code and silent renewal", async () => {
    const input = {
      authorityHost: emu.authorityHost,
      tenantId: emu.tenant.id,
      tenantDomain: emu.tenant.domain,
      exchangeEndpoint: emu.exchangeEndpoint,
      graphEndpoint: emu.graphEndpoint,
      appId: app.appId,
      keyPem: cert.keyPem,
      sha1Hex: cert.sha1Hex,
      publicClientId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
      tokenLifetimeSeconds: SHORT_LIFETIME_S,
    };
    const appRun = await runPython({ ...input, phase: "app" });
    expect(appRun.code, appRun.stderr).toBe(0);
    emu.configure({ tokenLifetimeSeconds: SHORT_LIFETIME_S });
    const userRun = await runPython({ ...input, phase: "user" });
    expect(userRun.code, userRun.stderr).toBe(0);
    const out = { ...JSON.parse(appRun.stdout), ...JSON.parse(userRun.stdout) };

    // MSAL Python pads: base64url of 20 bytes is 27 characters plus one '='
    expect(out.x5t).toBe(`${Buffer.from(cert.sha1Hex, "hex").toString("base64url")}=`);
    expect(out.clientCredentials).toEqual({
      error: null,
      errorCodes: null,
      aud: "https://outlook.office365.com",
      roles: ["Exchange.ManageAsApp"],
    });
    // the emulator's truth: every active mailbox once (some of the generated recipients are not mailboxes)
    const mailboxes = emu.expectedUsage().mailboxes;
    expect(mailboxes).toBeGreaterThan(7);
    expect(out.invoke).toEqual({
      statuses: [200],
      pages: Math.ceil(mailboxes / 7),
      rows: mailboxes,
      distinct: mailboxes,
    });
    expect(out.deviceCode).toEqual({
      userCode: true,
      error: null,
      refreshToken: true,
      username: emu.admin.userPrincipalName,
      aud: "https://graph.microsoft.com",
    });
    expect(out.silent).toEqual({
      error: null,
      newToken: true,
      meStatus: 200,
      upn: emu.admin.userPrincipalName,
    });
  });
});
