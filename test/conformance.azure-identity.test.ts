import { Agent } from "node:https";
import { ClientCertificateCredential, DeviceCodeCredential } from "@azure/identity";
import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import {
  EmulatorClient,
  jwtPayload,
  makeCertificate,
  type ProvisionedApp,
  provisionApp,
  type TestCertificate,
} from "@exo-cba/emulator/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * `@azure/identity` (what the Azure SDKs for JavaScript authenticate with) against the emulator,
 * unpatched (docs/emulator.md, "Microsoft's other clients"): ClientCertificateCredential (PS256 +
 * x5t#S256, computed by the library from the PEM) for Exchange, and DeviceCodeCredential for Graph.
 * Both use Microsoft's resource identifiers, so only the hosts differ from a script for the real cloud.
 */

let emu: RunningEmulator;
let client: EmulatorClient;
let cert: TestCertificate;
let app: ProvisionedApp;
let agent: Agent;

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: 5 });
  client = new EmulatorClient(emu);
  cert = await makeCertificate();
  app = await provisionApp(client, emu.issueAdminToken(), { certs: [cert] });
  agent = new Agent({ ca: emu.caPem, keepAlive: false });
});

afterAll(async () => {
  agent?.destroy();
  client?.close();
  await emu?.close();
});

/** The options a script for a sovereign or custom cloud passes: its authority host, no instance discovery. */
const common = () => ({
  authorityHost: emu.authorityHost,
  disableInstanceDiscovery: true,
  // trust the emulator's CA for this credential only (TLS stays verified)
  agent,
  retryOptions: { maxRetries: 0 },
});

describe("@azure/identity against the emulator", () => {
  it("ClientCertificateCredential gets an Exchange token that InvokeCommand accepts", async () => {
    const credential = new ClientCertificateCredential(
      emu.tenant.id,
      app.appId,
      { certificate: `${cert.certPem}\n${cert.keyPem}` },
      common(),
    );
    const token = await credential.getToken("https://outlook.office365.com/.default");
    expect(token?.token).toBeTruthy();
    expect(token!.expiresOnTimestamp).toBeGreaterThan(Date.now());
    expect(jwtPayload(token!.token)).toMatchObject({
      aud: "https://outlook.office365.com",
      appid: app.appId,
      roles: ["Exchange.ManageAsApp"],
    });
    const r = await client.call(
      "POST",
      `${emu.exchangeEndpoint}/adminapi/beta/${emu.tenant.domain}/InvokeCommand`,
      {
        token: token!.token,
        json: { CmdletInput: { CmdletName: "Get-OrganizationConfig", Parameters: {} } },
      },
    );
    expect(r.status, r.text).toBe(200);
    expect(r.body.value).toHaveLength(1);
  });

  it("ClientCertificateCredential surfaces AADSTS700027 for a certificate that is not the app's", async () => {
    const other = await makeCertificate({ subject: "not-registered" });
    const credential = new ClientCertificateCredential(
      emu.tenant.id,
      app.appId,
      { certificate: `${other.certPem}\n${other.keyPem}` },
      common(),
    );
    await expect(credential.getToken("https://outlook.office365.com/.default")).rejects.toThrow(
      /AADSTS700027/,
    );
  });

  it("DeviceCodeCredential signs the admin in (auto-approved) with a Graph token /me accepts", async () => {
    let prompt = "";
    const credential = new DeviceCodeCredential({
      ...common(),
      tenantId: emu.tenant.id,
      clientId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
      userPromptCallback: (info) => {
        prompt = info.message;
      },
    });
    const token = await credential.getToken("https://graph.microsoft.com/.default");
    expect(prompt).toContain(`${emu.authorityHost}/devicelogin`);
    expect(jwtPayload(token!.token)).toMatchObject({
      aud: "https://graph.microsoft.com",
      upn: emu.admin.userPrincipalName,
    });
    const me = await client.graph("GET", "me", token!.token);
    expect(me.status).toBe(200);
    expect(me.body.userPrincipalName).toBe(emu.admin.userPrincipalName);
  });
});
