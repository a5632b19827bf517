import { ConfidentialClientApplication, PublicClientApplication } from "@azure/msal-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulatorWith } from "../../src/index.js";
import type { RunningEmulator } from "../../src/types.js";
import { msalNetworkClient } from "../support/https.js";
import {
  EmulatorClient,
  EXCHANGE_ADMIN_ROLE,
  fakeExchange,
  jwtPayload,
  makeCertificate,
  type ProvisionedApp,
  provisionApp,
  signAssertion,
  type TestCertificate,
  type TestResponse,
  unsignedJwt,
} from "../support/identity.js";

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

let emu: RunningEmulator;
let client: EmulatorClient;
let cert: TestCertificate;
let other: TestCertificate;
let expired: TestCertificate;
let app: ProvisionedApp;
let tokenUrl: string;

beforeAll(async () => {
  emu = await startEmulatorWith({ tokenLifetimeSeconds: 1234 }, fakeExchange);
  client = new EmulatorClient(emu);
  const day = 86_400_000;
  [cert, other, expired] = await Promise.all([
    makeCertificate(),
    makeCertificate({ subject: "not-registered" }),
    makeCertificate({ notBefore: new Date(Date.now() - 3 * day), notAfter: new Date(Date.now() - day) }),
  ]);
  app = await provisionApp(client, emu.issueAdminToken(), { certs: [cert, expired] });
  tokenUrl = `${emu.authorityHost}/${emu.tenant.id}/oauth2/v2.0/token`;
});

afterAll(async () => {
  client.close();
  await emu.close();
});

const msalClient = (
  authorityTenant: string,
  credential: { thumbprint?: string; thumbprintSha256?: string },
) =>
  new ConfidentialClientApplication({
    auth: {
      clientId: app.appId,
      authority: `${emu.authorityHost}/${authorityTenant}`,
      knownAuthorities: [new URL(emu.authorityHost).host],
      clientCertificate: { ...credential, privateKey: cert.keyPem },
    },
    system: { networkClient: msalNetworkClient(emu.caPem) },
  });

describe("discovery", () => {
  it("serves OIDC metadata for the tenant GUID and domain with the emulator's issuer", async () => {
    for (const segment of [emu.tenant.id, emu.tenant.domain]) {
      const r = await client.call(
        "GET",
        `${emu.authorityHost}/${segment}/v2.0/.well-known/openid-configuration`,
      );
      expect(r.status).toBe(200);
      expect(r.body.issuer).toBe(`${emu.authorityHost}/${emu.tenant.id}/v2.0`);
      expect(r.body.token_endpoint).toBe(`${emu.authorityHost}/${emu.tenant.id}/oauth2/v2.0/token`);
      expect(r.body.device_authorization_endpoint).toBe(
        `${emu.authorityHost}/${emu.tenant.id}/oauth2/v2.0/devicecode`,
      );
      expect(r.body.token_endpoint_auth_methods_supported).toContain("private_key_jwt");
    }
    const common = await client.call(
      "GET",
      `${emu.authorityHost}/organizations/v2.0/.well-known/openid-configuration`,
    );
    expect(common.body.issuer).toBe(`${emu.authorityHost}/{tenantid}/v2.0`);
  });

  it("answers an unknown tenant with AADSTS90002 in Entra's error shape", async () => {
    const r = await client.call(
      "GET",
      `${emu.authorityHost}/nosuch.onmicrosoft.com/v2.0/.well-known/openid-configuration`,
    );
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("invalid_tenant");
    expect(r.body.error_codes).toEqual([90002]);
    expect(r.body.error_description).toMatch(
      /^AADSTS90002: Tenant 'nosuch.onmicrosoft.com' not found\..*\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/s,
    );
    expect(r.body.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    expect(r.body.trace_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.error_uri).toBe("https://login.microsoftonline.com/error?code=90002");
  });

  it("answers instance discovery with the emulator host as its own only alias", async () => {
    const host = new URL(emu.authorityHost).host;
    const r = await client.call(
      "GET",
      `${emu.authorityHost}/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(`${emu.authorityHost}/${emu.tenant.id}/oauth2/v2.0/authorize`)}`,
    );
    expect(r.status).toBe(200);
    expect(r.body.metadata[0]).toEqual({ preferred_network: host, preferred_cache: host, aliases: [host] });
    expect(r.body.tenant_discovery_endpoint).toBe(
      `${emu.authorityHost}/${emu.tenant.id}/v2.0/.well-known/openid-configuration`,
    );
  });

  it("publishes the key that verifies issued tokens", async () => {
    const r = await client.call("GET", `${emu.authorityHost}/${emu.tenant.id}/discovery/v2.0/keys`);
    expect(r.status).toBe(200);
    const token = emu.issueAdminToken();
    const kid = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid;
    expect(r.body.keys.map((k: { kid: string }) => k.kid)).toContain(kid);
  });
});

describe("client credentials through @azure/msal-node", () => {
  it("issues an Exchange token for PS256 + x5t#S256 (thumbprintSha256) with roles and wids", async () => {
    const result = await msalClient(emu.tenant.id, {
      thumbprintSha256: cert.sha256Hex,
    }).acquireTokenByClientCredential({
      scopes: [`${emu.exchangeEndpoint}/.default`],
    });
    expect(result?.accessToken).toBeTruthy();
    const claims = jwtPayload(result!.accessToken);
    expect(claims).toMatchObject({
      aud: emu.exchangeEndpoint,
      iss: `https://sts.windows.net/${emu.tenant.id}/`,
      tid: emu.tenant.id,
      appid: app.appId,
      oid: app.spId,
      idtyp: "app",
      appidacr: "2",
      roles: ["Exchange.ManageAsApp"],
      wids: [EXCHANGE_ADMIN_ROLE],
    });
    expect(claims.exp - claims.iat).toBe(1234);
  });

  it("issues a token for RS256 + x5t (thumbprint) against the domain-form authority", async () => {
    const result = await msalClient(emu.tenant.domain, {
      thumbprint: cert.sha1Hex,
    }).acquireTokenByClientCredential({
      scopes: ["https://outlook.office365.com/.default"],
    });
    const claims = jwtPayload(result!.accessToken);
    // the resource identifier as requested, as real Exchange tokens carry it
    expect(claims.aud).toBe("https://outlook.office365.com");
    expect(claims.roles).toEqual(["Exchange.ManageAsApp"]);
  });

  it("issues a Graph app-only token without Exchange roles for the Graph scope", async () => {
    const result = await msalClient(emu.tenant.id, {
      thumbprintSha256: cert.sha256Hex,
    }).acquireTokenByClientCredential({
      scopes: [`${emu.graphEndpoint}/.default`],
    });
    const claims = jwtPayload(result!.accessToken);
    expect(claims.aud).toBe(emu.graphEndpoint);
    expect(claims.roles).toBeUndefined();
  });

  it("surfaces the AADSTS code to MSAL when the certificate is not registered", async () => {
    const cca = new ConfidentialClientApplication({
      auth: {
        clientId: app.appId,
        authority: `${emu.authorityHost}/${emu.tenant.id}`,
        knownAuthorities: [new URL(emu.authorityHost).host],
        clientCertificate: { thumbprintSha256: other.sha256Hex, privateKey: other.keyPem },
      },
      system: { networkClient: msalNetworkClient(emu.caPem) },
    });
    await expect(
      cca.acquireTokenByClientCredential({ scopes: [`${emu.exchangeEndpoint}/.default`] }),
    ).rejects.toMatchObject({
      errorCode: "invalid_client",
      errorMessage: expect.stringContaining("AADSTS700027"),
    });
  });
});

describe("token endpoint strictness (hand-made assertions)", () => {
  const form = (assertion: string, extra: Record<string, string> = {}) => ({
    grant_type: "client_credentials",
    client_id: app.appId,
    scope: `${emu.exchangeEndpoint}/.default`,
    client_assertion_type: JWT_BEARER,
    client_assertion: assertion,
    ...extra,
  });
  const expectAadsts = (r: TestResponse, status: number, error: string, code: number) => {
    expect(r.status).toBe(status);
    expect(r.body.error).toBe(error);
    expect(r.body.error_codes).toEqual([code]);
    expect(r.body.error_description).toMatch(new RegExp(`^AADSTS${code}: `));
  };

  it("accepts a valid assertion twice with the same jti (MSAL reuses it)", async () => {
    const a = signAssertion({ cert, clientId: app.appId, aud: tokenUrl });
    for (let i = 0; i < 2; i++) {
      const r = await client.token(form(a));
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ token_type: "Bearer", expires_in: 1234, ext_expires_in: 1234 });
    }
  });

  it("refuses a signature made with another key: 401 AADSTS700027", async () => {
    const a = signAssertion({ cert, signingKey: other.privateKey, clientId: app.appId, aud: tokenUrl });
    expectAadsts(await client.token(form(a)), 401, "invalid_client", 700027);
  });

  it("refuses alg none: 401 AADSTS700027", async () => {
    const now = Math.floor(Date.now() / 1000);
    const a = unsignedJwt(
      { typ: "JWT" },
      { aud: tokenUrl, iss: app.appId, sub: app.appId, nbf: now, exp: now + 600 },
    );
    expectAadsts(await client.token(form(a)), 401, "invalid_client", 700027);
  });

  it("refuses an expired assertion: 401 AADSTS700024", async () => {
    const now = Math.floor(Date.now() / 1000);
    const a = signAssertion({
      cert,
      clientId: app.appId,
      aud: tokenUrl,
      claims: { nbf: now - 7200, exp: now - 3600 },
    });
    const r = await client.token(form(a));
    expectAadsts(r, 401, "invalid_client", 700024);
    expect(r.body.error_description).toContain("Client assertion is not within its valid time range.");
  });

  it("refuses an assertion whose nbf is too far in the future: 401 AADSTS700024", async () => {
    const now = Math.floor(Date.now() / 1000);
    const a = signAssertion({
      cert,
      clientId: app.appId,
      aud: tokenUrl,
      claims: { nbf: now + 3600, exp: now + 4200 },
    });
    expectAadsts(await client.token(form(a)), 401, "invalid_client", 700024);
  });

  it("tolerates MSAL's nbf one second after iat", async () => {
    const now = Math.floor(Date.now() / 1000);
    const a = signAssertion({ cert, clientId: app.appId, aud: tokenUrl, claims: { iat: now, nbf: now + 1 } });
    expect((await client.token(form(a))).status).toBe(200);
  });

  it("refuses a wrong audience: 400 AADSTS50027, and an array audience", async () => {
    const a = signAssertion({
      cert,
      clientId: app.appId,
      aud: "https://login.microsoftonline.com/x/oauth2/v2.0/token",
    });
    expectAadsts(await client.token(form(a)), 400, "invalid_request", 50027);
    const b = signAssertion({ cert, clientId: app.appId, aud: tokenUrl, claims: { aud: [tokenUrl] } });
    expectAadsts(await client.token(form(b)), 400, "invalid_request", 50027);
  });

  it("accepts the domain-form audience when posting to the domain-form endpoint", async () => {
    const domainUrl = `${emu.authorityHost}/${emu.tenant.domain}/oauth2/v2.0/token`;
    const a = signAssertion({ cert, alg: "RS256", clientId: app.appId, aud: domainUrl });
    expect((await client.token(form(a), emu.tenant.domain)).status).toBe(200);
  });

  it("compares x5t / x5t#S256 as decoded bytes: padded base64url and standard base64 are the same key", async () => {
    const sha1 = Buffer.from(cert.sha1Hex, "hex");
    const sha256 = Buffer.from(cert.sha256Hex, "hex");
    // MSAL Python sends base64.urlsafe_b64encode(sha1): 28 characters ending in one '='
    const padded = sha1.toString("base64url").padEnd(28, "=");
    expect(padded).toMatch(/=$/);
    const variants: Array<{ alg: "RS256" | "PS256"; header: Record<string, string> }> = [
      { alg: "RS256", header: { x5t: padded } },
      { alg: "RS256", header: { x5t: sha1.toString("base64") } },
      { alg: "PS256", header: { "x5t#S256": sha256.toString("base64url").padEnd(44, "=") } },
      { alg: "PS256", header: { "x5t#S256": sha256.toString("base64") } },
    ];
    for (const v of variants) {
      const a = signAssertion({ cert, alg: v.alg, clientId: app.appId, aud: tokenUrl, header: v.header });
      const r = await client.token(form(a));
      expect(r.status, JSON.stringify(v.header)).toBe(200);
    }
    // a thumbprint that is not base64, or decodes to other bytes, selects no key
    for (const x5t of ["not base64!", sha1.subarray(0, 19).toString("base64url")]) {
      const a = signAssertion({ cert, alg: "RS256", clientId: app.appId, aud: tokenUrl, header: { x5t } });
      expectAadsts(await client.token(form(a)), 401, "invalid_client", 700027);
    }
  });

  it("refuses a certificate that is not on the app: 401 AADSTS700027 naming its thumbprint", async () => {
    const a = signAssertion({ cert: other, alg: "RS256", clientId: app.appId, aud: tokenUrl });
    const r = await client.token(form(a));
    expectAadsts(r, 401, "invalid_client", 700027);
    expect(r.body.error_description).toContain("The key was not found.");
    expect(r.body.error_description).toContain(other.sha1Hex);
  });

  it("refuses a key credential past its endDateTime: AADSTS700027 'The key used is expired'", async () => {
    const a = signAssertion({ cert: expired, clientId: app.appId, aud: tokenUrl });
    const r = await client.token(form(a));
    expectAadsts(r, 401, "invalid_client", 700027);
    expect(r.body.error_description).toContain("The key used is expired.");
  });

  it("refuses an unknown tenant: 400 AADSTS90002", async () => {
    const a = signAssertion({ cert, clientId: app.appId, aud: tokenUrl });
    expectAadsts(await client.token(form(a), "fabrikam.onmicrosoft.com"), 400, "invalid_request", 90002);
  });

  it("refuses an app that is not in the tenant: 400 unauthorized_client AADSTS700016", async () => {
    const stranger = "11111111-2222-4333-8444-555555555555";
    const a = signAssertion({ cert, clientId: stranger, aud: tokenUrl });
    const r = await client.token(form(a, { client_id: stranger }));
    expectAadsts(r, 400, "unauthorized_client", 700016);
    expect(r.body.error_description).toContain(
      `Application with identifier '${stranger}' was not found in the directory`,
    );
  });

  it("refuses a client secret (7000215), a missing assertion (7000218) and a malformed one (50027)", async () => {
    const { client_assertion: _a, client_assertion_type: _t, ...noAssertion } = form("x");
    expectAadsts(
      await client.token({ ...noAssertion, client_secret: "s3cret" }),
      401,
      "invalid_client",
      7000215,
    );
    expectAadsts(await client.token(noAssertion), 401, "invalid_client", 7000218);
    expectAadsts(await client.token(form("not-a-jwt")), 400, "invalid_request", 50027);
  });

  it("refuses a scope without /.default (AADSTS1002012), an unknown resource (AADSTS500011), none (AADSTS70011)", async () => {
    const a = signAssertion({ cert, clientId: app.appId, aud: tokenUrl });
    const perm = await client.token(form(a, { scope: `${emu.exchangeEndpoint}/Exchange.ManageAsApp` }));
    expectAadsts(perm, 400, "invalid_scope", 1002012);
    expect(perm.body.error_description).toContain(
      "Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
    );
    expectAadsts(
      await client.token(form(a, { scope: "Application.Read.All" })),
      400,
      "invalid_scope",
      1002012,
    );
    const unknown = await client.token(form(a, { scope: "https://unknown.example/.default" }));
    expectAadsts(unknown, 400, "invalid_resource", 500011);
    expect(unknown.body.error_description).toContain(
      "The resource principal named https://unknown.example was not found",
    );
    for (const scope of ["", `${emu.exchangeEndpoint}/.default ${emu.graphEndpoint}/.default`]) {
      expectAadsts(await client.token(form(a, { scope })), 400, "invalid_scope", 70011);
    }
  });

  it("accepts Microsoft's resource identifiers as scopes and echoes them in aud", async () => {
    const a = signAssertion({ cert, clientId: app.appId, aud: tokenUrl });
    for (const [resource, roles] of [
      ["https://outlook.office365.com", ["Exchange.ManageAsApp"]],
      ["00000002-0000-0ff1-ce00-000000000000", ["Exchange.ManageAsApp"]],
      ["https://graph.microsoft.com", undefined],
      ["00000003-0000-0000-c000-000000000000", undefined],
      [emu.exchangeEndpoint, ["Exchange.ManageAsApp"]],
    ] as const) {
      const r = await client.token(form(a, { scope: `${resource}/.default` }));
      expect(r.status, resource).toBe(200);
      const claims = jwtPayload(r.body.access_token);
      expect(claims.aud).toBe(resource);
      expect(claims.roles).toEqual(roles);
    }
  });

  it("refuses an app without a service principal in the tenant: 400 AADSTS7000229", async () => {
    const bare = await client.graph("POST", "applications", emu.issueAdminToken(), {
      displayName: "no-sp",
      keyCredentials: [{ type: "AsymmetricX509Cert", usage: "Verify", key: cert.keyBase64 }],
    });
    expect(bare.status).toBe(201);
    const a = signAssertion({ cert, clientId: bare.body.appId, aud: tokenUrl });
    const r = await client.token(form(a, { client_id: bare.body.appId }));
    expectAadsts(r, 400, "invalid_client", 7000229);
    expect(r.body.error_description).toContain(
      `The client application ${bare.body.appId} is missing service principal in the tenant ${emu.tenant.id}.`,
    );
  });

  it("refuses iss/sub that do not match client_id", async () => {
    const a = signAssertion({ cert, clientId: app.appId, aud: tokenUrl, claims: { sub: "someone-else" } });
    expectAadsts(await client.token(form(a)), 401, "invalid_client", 50048);
  });
});

describe("device code through @azure/msal-node", () => {
  it("signs the default admin in (auto-approve) with admin scopes, roles, id_token and account", async () => {
    const pca = new PublicClientApplication({
      auth: {
        clientId: "14d82eec-204b-4c2f-b7e8-296a70dab67e",
        authority: `${emu.authorityHost}/${emu.tenant.id}`,
        knownAuthorities: [new URL(emu.authorityHost).host],
      },
      system: { networkClient: msalNetworkClient(emu.caPem) },
    });
    let message = "";
    const result = await pca.acquireTokenByDeviceCode({
      scopes: [`${emu.graphEndpoint}/.default`],
      deviceCodeCallback: (r) => {
        message = r.message;
      },
    });
    expect(message).toContain(`${emu.authorityHost}/devicelogin`);
    expect(result?.account?.username).toBe(emu.admin.userPrincipalName);
    expect(result?.account?.tenantId).toBe(emu.tenant.id);
    const claims = jwtPayload(result!.accessToken);
    expect(claims).toMatchObject({
      aud: emu.graphEndpoint,
      idtyp: "user",
      upn: emu.admin.userPrincipalName,
      oid: emu.admin.objectId,
      scp: "Application.ReadWrite.All AppRoleAssignment.ReadWrite.All RoleManagement.ReadWrite.Directory",
    });
    expect(claims.wids).toContain("62e90394-69f5-4237-9190-012177145e10");
  });
});
