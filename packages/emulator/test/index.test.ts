import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { ConfidentialClientApplication } from "@azure/msal-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator } from "../src/index.js";
import type { RunningEmulator } from "../src/types.js";
import { msalNetworkClient } from "./support/https.js";
import {
  EmulatorClient,
  jwtPayload,
  makeCertificate,
  type ProvisionedApp,
  provisionApp,
  type TestCertificate,
} from "./support/identity.js";

/**
 * The assembled emulator with the real Exchange handler: end to end from MSAL to a cmdlet, and a
 * restart on the same state dir that keeps CA, objects, keys and token signing key.
 */

let stateDir: string;
let emu: RunningEmulator;
let client: EmulatorClient;
let cert: TestCertificate;
let app: ProvisionedApp;
let adminTokenBeforeRestart: string;

const modeOf = async (p: string) => (await stat(p)).mode & 0o777;

const exchangeToken = async (e: RunningEmulator) => {
  const cca = new ConfidentialClientApplication({
    auth: {
      clientId: app.appId,
      authority: `${e.authorityHost}/${e.tenant.domain}`,
      knownAuthorities: [new URL(e.authorityHost).host],
      clientCertificate: { thumbprintSha256: cert.sha256Hex, privateKey: cert.keyPem },
    },
    system: { networkClient: msalNetworkClient(e.caPem) },
  });
  const result = await cca.acquireTokenByClientCredential({ scopes: [`${e.exchangeEndpoint}/.default`] });
  return result!.accessToken;
};

const invoke = (c: EmulatorClient, e: RunningEmulator, token: string, cmdlet: string, parameters = {}) =>
  c.call("POST", `${e.exchangeEndpoint}/adminapi/beta/${e.tenant.domain}/InvokeCommand`, {
    token,
    json: { CmdletInput: { CmdletName: cmdlet, Parameters: parameters } },
    headers: { "X-ResponseFormat": "json", "X-AnchorMailbox": `UPN:SystemMailbox@${e.tenant.domain}` },
  });

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "exo-cba-emu-test-"));
  emu = await startEmulator({ stateDir: join(stateDir, "state"), mailboxes: 12, seed: 7 });
  client = new EmulatorClient(emu);
  cert = await makeCertificate();
  adminTokenBeforeRestart = emu.issueAdminToken();
  app = await provisionApp(client, adminTokenBeforeRestart, { certs: [cert] });
});

afterAll(async () => {
  client?.close();
  await emu?.close();
  await rm(stateDir, { recursive: true, force: true });
});

describe("topology", () => {
  it("listens on three loopback HTTPS origins and prints the environment", () => {
    const origins = [emu.authorityHost, emu.graphEndpoint, emu.exchangeEndpoint];
    for (const o of origins) expect(o).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(new Set(origins).size).toBe(3);
    expect(emu.env).toEqual({
      EXO_AUTHORITY_HOST: emu.authorityHost,
      EXO_GRAPH_ENDPOINT: emu.graphEndpoint,
      EXO_EXCHANGE_ENDPOINT: emu.exchangeEndpoint,
      EXO_ORGANIZATION: "contoso.onmicrosoft.com",
      NODE_EXTRA_CA_CERTS: join(stateDir, "state", "ca.pem"),
    });
    expect(emu.tenant.domain).toBe("contoso.onmicrosoft.com");
  });

  it("serves a certificate for IP:127.0.0.1 and DNS:localhost issued by the emulator CA", async () => {
    const port = Number(new URL(emu.graphEndpoint).port);
    const peer = await new Promise<{ san: string; raw: Buffer }>((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port, ca: emu.caPem, servername: "localhost" }, () => {
        const c = socket.getPeerCertificate();
        socket.end();
        resolve({ san: c.subjectaltname ?? "", raw: c.raw });
      });
      socket.on("error", reject);
    });
    expect(peer.san).toContain("IP Address:127.0.0.1");
    expect(peer.san).toContain("DNS:localhost");
    const ca = new X509Certificate(emu.caPem);
    expect(new X509Certificate(peer.raw).checkIssued(ca)).toBe(true);
    expect(ca.ca).toBe(true);
    expect(await readFile(emu.caFile, "utf8")).toBe(emu.caPem);
  });

  it("refuses TLS from a client that does not trust the emulator CA", async () => {
    const port = Number(new URL(emu.authorityHost).port);
    await expect(
      new Promise((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port, servername: "localhost" }, () =>
          resolve(socket.end()),
        );
        socket.on("error", reject);
      }),
    ).rejects.toThrow(/self.signed|unable to verify|certificate/i);
  });
});

describe("end to end with the Exchange listener", () => {
  it("MSAL token → Get-OrganizationConfig", async () => {
    const token = await exchangeToken(emu);
    const r = await invoke(client, emu, token, "Get-OrganizationConfig");
    expect(r.status).toBe(200);
    expect(Array.isArray(r.body.value)).toBe(true);
    expect(r.body.value).toHaveLength(1);
    expect(emu.stats().exchangeRequests).toBeGreaterThanOrEqual(1);
    expect(emu.stats().tokenRequests).toBeGreaterThanOrEqual(1);
  });

  it("Exchange refuses a Graph-audience token (bearer sent to the wrong origin)", async () => {
    const r = await invoke(client, emu, emu.issueAdminToken(), "Get-OrganizationConfig");
    expect(r.status).toBe(401);
  });

  it("knows the exact usage of the generated tenant", () => {
    const truth = emu.expectedUsage();
    expect(truth.mailboxes + truth.inactiveMailboxes).toBe(12);
  });
});

describe("restart on the same state dir", () => {
  it("keeps keys owner-only and everything else across a restart", async () => {
    const dir = join(stateDir, "state");
    expect(await modeOf(dir)).toBe(0o700);
    for (const f of ["ca-key.pem", "server-key.pem", "token-signing-key.pem", "state.json"]) {
      expect(await modeOf(join(dir, f))).toBe(0o600);
    }
    const caBefore = emu.caPem;
    const kidOf = (token: string) =>
      JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid;
    const kidBefore = kidOf(adminTokenBeforeRestart);
    client.close();
    await emu.close();

    emu = await startEmulator({ stateDir: dir, mailboxes: 12, seed: 7 });
    client = new EmulatorClient(emu);
    expect(emu.caPem).toBe(caBefore);
    // same token signing key (new ports mean new audiences, so old tokens are for other origins)
    const admin = emu.issueAdminToken();
    expect(kidOf(admin)).toBe(kidBefore);
    const got = await client.graph("GET", `applications/${app.id}?$select=keyCredentials`, admin);
    expect(got.status).toBe(200);
    expect(got.body.keyCredentials[0].key).toBe(cert.keyBase64);
    const sp = await client.graph("GET", `servicePrincipals/${app.spId}/appRoleAssignments`, admin);
    expect(sp.body.value).toHaveLength(1);
    const claims = jwtPayload(await exchangeToken(emu));
    expect(claims.roles).toEqual(["Exchange.ManageAsApp"]);
    expect(claims.oid).toBe(app.spId);
    expect(claims.wids).toEqual(["29232cdf-9323-42fd-ade2-1d097af3e4de"]);
  });
});
