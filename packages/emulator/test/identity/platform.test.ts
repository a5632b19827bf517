import { PublicClientApplication } from "@azure/msal-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator } from "../../src/index.js";
import type { RunningEmulator } from "../../src/types.js";
import { msalNetworkClient } from "../support/https.js";
import {
  EmulatorClient,
  jwtPayload,
  makeCertificate,
  type ProvisionedApp,
  provisionApp,
  signAssertion,
  type TestCertificate,
} from "../support/identity.js";

/**
 * Identity-platform behaviour a script written for the real cloud relies on (docs/emulator.md,
 * "Identity platform"): refresh tokens, the v1 endpoints, Microsoft's resource identifiers accepted by
 * the emulator's Exchange and Graph, instance discovery and the Resource Manager reads of `az login`.
 */

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const PUBLIC_CLIENT = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

let emu: RunningEmulator;
let client: EmulatorClient;
let cert: TestCertificate;
let app: ProvisionedApp;
let now = Date.now();

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: 5, tokenLifetimeSeconds: 600, clock: () => now });
  client = new EmulatorClient(emu);
  cert = await makeCertificate();
  app = await provisionApp(client, emu.issueAdminToken(), { certs: [cert] });
});

afterAll(async () => {
  client.close();
  await emu.close();
});

const appToken = async (scope: string) => {
  const aud = `${emu.authorityHost}/${emu.tenant.id}/oauth2/v2.0/token`;
  const r = await client.token({
    grant_type: "client_credentials",
    client_id: app.appId,
    scope,
    client_assertion_type: JWT_BEARER,
    client_assertion: signAssertion({ cert, clientId: app.appId, aud }),
  });
  if (r.status !== 200) throw new Error(r.text);
  return r.body.access_token as string;
};

const invoke = (token: string) =>
  client.call("POST", `${emu.exchangeEndpoint}/adminapi/beta/${emu.tenant.domain}/InvokeCommand`, {
    token,
    json: { CmdletInput: { CmdletName: "Get-OrganizationConfig", Parameters: {} } },
  });

describe("Microsoft's resource identifiers", () => {
  it("Exchange accepts a token requested for https://outlook.office365.com or its appId; Graph for its ids", async () => {
    for (const scope of [
      "https://outlook.office365.com/.default",
      "00000002-0000-0ff1-ce00-000000000000/.default",
    ]) {
      const token = await appToken(scope);
      expect(jwtPayload(token).aud).toBe(scope.replace("/.default", ""));
      const r = await invoke(token);
      expect(r.status, r.text).toBe(200);
    }
    // a Graph token is still refused by Exchange, whatever identifier it was asked with
    expect((await invoke(await appToken("https://graph.microsoft.com/.default"))).status).toBe(401);
    const admin = emu.issueAdminToken();
    for (const scope of [
      "https://graph.microsoft.com/.default",
      "00000003-0000-0000-c000-000000000000/.default",
    ]) {
      // the app has no Graph permission: past authentication (403), not refused as a foreign token (401)
      const r = await client.graph("GET", "applications", await appToken(scope));
      expect(r.status, scope).toBe(403);
      expect(r.body.error.code).toBe("Authorization_RequestDenied");
    }
    expect((await client.graph("GET", "applications", admin)).status).toBe(200);
    const exo = await client.graph(
      "GET",
      "applications",
      await appToken("https://outlook.office365.com/.default"),
    );
    expect(exo.status).toBe(401);
    expect(exo.body.error.code).toBe("InvalidAuthenticationToken");
  });
});

describe("v1 endpoints", () => {
  it("v1 discovery names the v1 token endpoint, /common/discovery/keys and the issuer v1 tokens carry", async () => {
    const r = await client.call(
      "GET",
      `${emu.authorityHost}/${emu.tenant.domain}/.well-known/openid-configuration`,
    );
    expect(r.status).toBe(200);
    expect(r.body.issuer).toBe(`https://sts.windows.net/${emu.tenant.id}/`);
    expect(r.body.token_endpoint).toBe(`${emu.authorityHost}/${emu.tenant.id}/oauth2/token`);
    expect(r.body.jwks_uri).toBe(`${emu.authorityHost}/common/discovery/keys`);
    const keys = await client.call("GET", r.body.jwks_uri);
    const token = await appToken("https://outlook.office365.com/.default");
    const header = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString("utf8"));
    expect(keys.body.keys.map((k: { kid: string }) => k.kid)).toContain(header.kid);
    expect(jwtPayload(token).iss).toBe(r.body.issuer);
    const unknown = await client.call(
      "GET",
      `${emu.authorityHost}/nosuch.example/.well-known/openid-configuration`,
    );
    expect(unknown.body.error_codes).toEqual([90002]);
  });

  it("POST /{tenant}/oauth2/token with resource= answers v1 fields (strings, expires_on, resource)", async () => {
    const v1Url = `${emu.authorityHost}/${emu.tenant.domain}/oauth2/token`;
    const form = (aud: string, resource: string) => ({
      grant_type: "client_credentials",
      client_id: app.appId,
      resource,
      client_assertion_type: JWT_BEARER,
      client_assertion: signAssertion({ cert, alg: "RS256", clientId: app.appId, aud }),
    });
    const r = await client.call("POST", v1Url, { form: form(v1Url, "https://outlook.office365.com") });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({
      token_type: "Bearer",
      expires_in: "600",
      resource: "https://outlook.office365.com",
    });
    expect(Number(r.body.expires_on) - Number(r.body.not_before)).toBe(600);
    expect(jwtPayload(r.body.access_token)).toMatchObject({
      aud: "https://outlook.office365.com",
      ver: "1.0",
      roles: ["Exchange.ManageAsApp"],
    });
    expect((await invoke(r.body.access_token)).status).toBe(200);
    // the assertion is for the endpoint it is posted to: a v2 audience is refused at v1
    const v2Aud = `${emu.authorityHost}/${emu.tenant.domain}/oauth2/v2.0/token`;
    const wrong = await client.call("POST", v1Url, { form: form(v2Aud, "https://outlook.office365.com") });
    expect(wrong.body.error_codes).toEqual([50027]);
    const noResource = await client.call("POST", v1Url, { form: form(v1Url, "https://unknown.example") });
    expect(noResource.body.error_codes).toEqual([500011]);
  });
});

describe("refresh tokens", () => {
  const pca = () =>
    new PublicClientApplication({
      auth: {
        clientId: PUBLIC_CLIENT,
        authority: `${emu.authorityHost}/${emu.tenant.id}`,
        knownAuthorities: [new URL(emu.authorityHost).host],
      },
      system: { networkClient: msalNetworkClient(emu.caPem) },
    });

  it("device code with offline_access returns one; MSAL renews silently with it after expiry", async () => {
    const msal = pca();
    const first = await msal.acquireTokenByDeviceCode({
      scopes: [`${emu.graphEndpoint}/.default`],
      deviceCodeCallback: () => {},
    });
    expect(first?.account).toBeTruthy();
    const before = emu.stats().tokenRequests;
    now += 700_000; // past the 600 s access-token lifetime
    try {
      // MSAL Node judges expiry by its own clock, so the renewal is forced; MSAL Python's test waits it out
      const renewed = await msal.acquireTokenSilent({
        account: first!.account!,
        scopes: [`${emu.graphEndpoint}/.default`],
        forceRefresh: true,
      });
      expect(renewed.accessToken).not.toBe(first!.accessToken);
      expect(emu.stats().tokenRequests).toBe(before + 1);
      expect(jwtPayload(renewed.accessToken)).toMatchObject({
        upn: emu.admin.userPrincipalName,
        idtyp: "user",
      });
      const me = await client.graph("GET", "me", renewed.accessToken);
      expect(me.status).toBe(200);
    } finally {
      now = Date.now();
    }
  });

  it("only with offline_access; refused for another client, garbage, or an access token", async () => {
    const base = `${emu.authorityHost}/${emu.tenant.id}/oauth2/v2.0`;
    const signIn = async (scope: string) => {
      const dc = await client.call("POST", `${base}/devicecode`, {
        form: { client_id: PUBLIC_CLIENT, scope },
      });
      const r = await client.call("POST", `${base}/token`, {
        form: { grant_type: "device_code", client_id: PUBLIC_CLIENT, device_code: dc.body.device_code },
      });
      expect(r.status, r.text).toBe(200);
      return r.body;
    };
    expect((await signIn("Application.Read.All openid profile")).refresh_token).toBeUndefined();
    const withRt = await signIn("Application.Read.All openid profile offline_access");
    expect(withRt.refresh_token).toEqual(expect.any(String));
    const refresh = (refreshToken: string, clientId = PUBLIC_CLIENT) =>
      client.call("POST", `${base}/token`, {
        form: {
          grant_type: "refresh_token",
          client_id: clientId,
          refresh_token: refreshToken,
          scope: "https://graph.microsoft.com/.default offline_access",
        },
      });
    const ok = await refresh(withRt.refresh_token);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.refresh_token).toEqual(expect.any(String));
    expect(jwtPayload(ok.body.access_token).aud).toBe("https://graph.microsoft.com");
    expect((await refresh(withRt.refresh_token, "11111111-2222-4333-8444-555555555555")).body.error).toBe(
      "invalid_grant",
    );
    expect((await refresh("not-a-token")).body.error_codes).toEqual([9002313]);
    expect((await refresh(withRt.access_token)).body.error_codes).toEqual([9002313]);
    // a refresh token is never an access token
    expect((await client.graph("GET", "me", withRt.refresh_token)).status).toBe(401);
    now += 91 * 86_400_000;
    try {
      expect((await refresh(withRt.refresh_token)).body.error_codes).toEqual([700082]);
    } finally {
      now = Date.now();
    }
  });
});

describe("instance discovery and Resource Manager", () => {
  it("answers invalid_instance (AADSTS50049) for an authority host it does not serve", async () => {
    const ask = (authority: string) =>
      client.call(
        "GET",
        `${emu.authorityHost}/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(authority)}`,
      );
    const ours = await ask(`${emu.authorityHost}/${emu.tenant.id}/oauth2/v2.0/authorize`);
    expect(ours.status).toBe(200);
    expect(ours.body.metadata[0]).toEqual({
      preferred_network: new URL(emu.authorityHost).host,
      preferred_cache: new URL(emu.authorityHost).host,
      aliases: [new URL(emu.authorityHost).host],
    });
    // MSAL Python asks about Microsoft's own host before a silent call: answered like Microsoft does
    const microsoft = await ask("https://login.microsoftonline.com/common/oauth2/authorize");
    expect(microsoft.status).toBe(200);
    expect(
      microsoft.body.metadata.some((m: { aliases: string[] }) => m.aliases.includes("login.windows.net")),
    ).toBe(true);
    const foreign = await ask("https://login.example.com/common/oauth2/authorize");
    expect(foreign.status).toBe(400);
    expect(foreign.body.error).toBe("invalid_instance");
    expect(foreign.body.error_codes).toEqual([50049]);
  });

  it("GET /tenants lists the caller's tenant and /subscriptions nothing, for an ARM token only", async () => {
    const arm = await appToken("https://management.core.windows.net//.default");
    expect(jwtPayload(arm).aud).toBe("https://management.core.windows.net/");
    const tenants = await client.call("GET", `${emu.graphEndpoint}/tenants?api-version=2022-12-01`, {
      token: arm,
    });
    expect(tenants.status).toBe(200);
    expect(tenants.body.value.map((t: { tenantId: string }) => t.tenantId)).toEqual([emu.tenant.id]);
    const subs = await client.call("GET", `${emu.graphEndpoint}/subscriptions?api-version=2022-12-01`, {
      token: arm,
    });
    expect(subs.body).toEqual({ value: [] });
    const graphToken = await appToken("https://graph.microsoft.com/.default");
    const refused = await client.call("GET", `${emu.graphEndpoint}/subscriptions?api-version=2022-12-01`, {
      token: graphToken,
    });
    expect(refused.status).toBe(401);
  });
});
