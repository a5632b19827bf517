import { constants, createHash, sign as cryptoSign, generateKeyPairSync, verify } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createAppCertificate,
  type RecordingServer,
  sendJson,
  startRecordingServer,
  type TestCertificate,
} from "../../test/helpers/invoke-wire.js";
import { AuthenticationError, TransientError } from "../errors.js";
import { HttpTransport } from "../http/transport.js";
import { ClientCertificateTokenProvider } from "./certificate.js";

const APP_ID = "11111111-2222-3333-4444-555555555555";
const TENANT = "contoso.onmicrosoft.com";
const SCOPE = "https://outlook.office365.com/.default";

let server: RecordingServer;
let cert: TestCertificate;
let transport: HttpTransport;

/** Answer OIDC discovery and the token endpoint like Entra does for a known tenant. */
function entraLike(
  tokenStatus = 200,
  tokenBody: unknown = { token_type: "Bearer", expires_in: 3599, access_token: "at-1" },
  discovery: Record<string, unknown> = {},
) {
  server.setHandler((req, res) => {
    if (req.method === "GET" && req.url.startsWith(`/${TENANT}/v2.0/.well-known/openid-configuration`)) {
      sendJson(res, 200, {
        issuer: `${server.origin}/aaaaaaaa-0000-0000-0000-000000000001/v2.0`,
        authorization_endpoint: `${server.origin}/${TENANT}/oauth2/v2.0/authorize`,
        token_endpoint: `${server.origin}/${TENANT}/oauth2/v2.0/token`,
        jwks_uri: `${server.origin}/${TENANT}/discovery/v2.0/keys`,
        token_endpoint_auth_methods_supported: ["private_key_jwt"],
        ...discovery,
      });
      return;
    }
    if (req.method === "POST" && req.url.startsWith(`/${TENANT}/oauth2/v2.0/token`)) {
      sendJson(res, tokenStatus, tokenBody);
      return;
    }
    sendJson(res, 404, { error: "not_found" });
  });
}

function provider(overrides: Partial<ConstructorParameters<typeof ClientCertificateTokenProvider>[0]> = {}) {
  return new ClientCertificateTokenProvider({
    appId: APP_ID,
    tenant: TENANT,
    authorityHost: server.origin,
    scope: SCOPE,
    transport,
    credential: { certificatePem: cert.certificatePem, privateKeyPem: cert.privateKeyPem },
    retry: { sleep: async () => {}, maxAttempts: 3 },
    ...overrides,
  });
}

const decodePart = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));

/** Check an assertion exactly as Entra would: header, claims, and the PS256 signature (salt 32). */
function checkAssertion(assertion: string) {
  const [h, p, s] = assertion.split(".");
  const header = decodePart(h!);
  const claims = decodePart(p!);
  expect(header.alg).toBe("PS256");
  expect(header.typ).toBe("JWT");
  expect(header["x5t#S256"]).toBe(createHash("sha256").update(cert.der).digest("base64url"));
  expect(claims.aud).toBe(`${server.origin}/${TENANT}/oauth2/v2.0/token`);
  expect(claims.iss).toBe(APP_ID);
  expect(claims.sub).toBe(APP_ID);
  expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/i);
  const now = Date.now() / 1000;
  expect(Math.abs(claims.nbf - now)).toBeLessThan(120);
  expect(claims.exp - claims.nbf).toBeGreaterThanOrEqual(300);
  expect(claims.exp - claims.nbf).toBeLessThanOrEqual(600);
  const ok = verify(
    "sha256",
    Buffer.from(`${h}.${p}`),
    { key: cert.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
    Buffer.from(s!, "base64url"),
  );
  expect(ok).toBe(true);
}

beforeAll(async () => {
  [server, cert] = await Promise.all([startRecordingServer(), createAppCertificate()]);
  transport = new HttpTransport({ caPem: [server.caPem] });
});
afterAll(async () => {
  transport.close();
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
});

describe("ClientCertificateTokenProvider (wire)", () => {
  it("sends the client-credentials form with a PS256 assertion, and stays on the authority host", async () => {
    entraLike();
    const p = provider();
    const token = await p.getToken();
    expect(token.token).toBe("at-1");
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3_000_000);

    // Every request went to our host: no instance discovery against login.microsoftonline.com.
    expect(p.observer.urls.length).toBeGreaterThan(0);
    for (const url of p.observer.urls) expect(new URL(url).origin).toBe(server.origin);

    const tokenRequest = server.requests.find((r) => r.method === "POST");
    expect(tokenRequest?.url).toMatch(new RegExp(`^/${TENANT}/oauth2/v2.0/token`));
    expect(tokenRequest?.headers["content-type"]).toMatch(/^application\/x-www-form-urlencoded/);
    const form = new URLSearchParams(tokenRequest!.body);
    expect(form.get("grant_type")).toBe("client_credentials");
    expect(form.get("client_id")).toBe(APP_ID);
    expect(form.get("scope")).toBe(SCOPE);
    expect(form.get("client_assertion_type")).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    expect(form.has("client_secret")).toBe(false);
    checkAssertion(form.get("client_assertion")!);
  });

  it("reads the discovery document once (MSAL discovers nothing itself) and signs in with two requests", async () => {
    entraLike();
    const p = provider();
    await p.getToken();
    await p.getToken();
    expect(server.requests.map((r) => `${r.method} ${r.url.split("?")[0]}`)).toEqual([
      `GET /${TENANT}/v2.0/.well-known/openid-configuration`,
      `POST /${TENANT}/oauth2/v2.0/token`,
      `POST /${TENANT}/oauth2/v2.0/token`,
    ]);
  });

  it("retries a discovery document the identity host answered with 503, honouring Retry-After, then signs in", async () => {
    let failures = 1;
    server.setHandler((req, res) => {
      if (req.method === "GET" && failures > 0) {
        failures--;
        return sendJson(res, 503, { error: "temporarily_unavailable" }, { "retry-after": "2" });
      }
      if (req.method === "GET") {
        return sendJson(res, 200, {
          issuer: `${server.origin}/${TENANT}/v2.0`,
          authorization_endpoint: `${server.origin}/${TENANT}/oauth2/v2.0/authorize`,
          token_endpoint: `${server.origin}/${TENANT}/oauth2/v2.0/token`,
          jwks_uri: `${server.origin}/${TENANT}/discovery/v2.0/keys`,
        });
      }
      sendJson(res, 200, { token_type: "Bearer", expires_in: 3599, access_token: "after-discovery-retry" });
    });
    const waits: number[] = [];
    const p = provider({
      retry: {
        maxAttempts: 3,
        sleep: async (ms) => {
          waits.push(ms);
        },
      },
    });
    expect((await p.getToken()).token).toBe("after-discovery-retry");
    expect(waits).toEqual([2000]);
    expect(server.requests.map((r) => r.method)).toEqual(["GET", "GET", "POST"]);
  });

  it("refuses a discovery document whose issuer is on another host, before any token request", async () => {
    entraLike(200, undefined, { issuer: "https://evil.example/aaaaaaaa-0000-0000-0000-000000000001/v2.0" });
    const error = await provider()
      .getToken()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toContain("names an issuer on another host (https://evil.example/");
    expect(server.requests.filter((r) => r.method === "POST")).toEqual([]);
  });

  it("never sends the assertion to a token endpoint on another origin", async () => {
    entraLike(200, undefined, { token_endpoint: "https://evil.example/steal/oauth2/v2.0/token" });
    const p = provider();
    const error = await p.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(server.requests.filter((r) => r.method === "POST")).toEqual([]);
    // Our network client refused it before any connection (MSAL then reports a generic failure).
    expect(String(p.observer.lastFailure?.error)).toContain(
      "Refusing an identity request to https://evil.example (only",
    );
  });

  it("builds the same assertion through an external signer (non-exportable key)", async () => {
    entraLike();
    const signed: number[] = [];
    const p = provider({
      credential: {
        certificatePem: cert.certificatePem,
        sign: async (input) => {
          signed.push(input.length);
          return cryptoSign("sha256", input, {
            key: cert.privateKeyPem,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: 32,
          });
        },
      },
    });
    expect(p.kind).toBe("certificate-signer");
    await p.getToken();
    expect(signed).toHaveLength(1);
    const form = new URLSearchParams(server.requests.find((r) => r.method === "POST")!.body);
    checkAssertion(form.get("client_assertion")!);
  });

  it("maps AADSTS700027 to an AuthenticationError with the code, correlation id and a fix", async () => {
    entraLike(401, {
      error: "invalid_client",
      error_description:
        "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found.]\r\nTrace ID: t-1\r\nCorrelation ID: c-1\r\nTimestamp: 2026-11-28 10:00:00Z",
      error_codes: [700027],
      trace_id: "t-1",
      correlation_id: "c-1",
    });
    const error = await provider()
      .getToken()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    const e = error as AuthenticationError;
    expect(e.exitCode).toBe(3);
    expect(e.aadstsCode).toBe(700027);
    expect(e.correlationId).toBe("c-1");
    expect(e.message).toMatch(/AADSTS700027: The certificate with identifier/);
    expect(e.message).not.toMatch(/Trace ID/);
    expect(e.hint).toMatch(/not registered on the app/);
    // Refusals are final: exactly one token request.
    expect(server.requests.filter((r) => r.method === "POST")).toHaveLength(1);
  });

  it("shows AADSTS90002 for a tenant that does not exist (MSAL alone only says endpoints_resolution_error)", async () => {
    server.setHandler((_req, res) =>
      sendJson(res, 400, {
        error: "invalid_tenant",
        error_description:
          "AADSTS90002: Tenant 'contoso.onmicrosoft.com' not found. Check to make sure you have the correct tenant ID.\r\nTrace ID: t\r\nCorrelation ID: c-9\r\nTimestamp: 2026-11-28 10:00:00Z",
        error_codes: [90002],
        correlation_id: "c-9",
      }),
    );
    const error = (await provider()
      .getToken()
      .catch((e: unknown) => e)) as AuthenticationError;
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.aadstsCode).toBe(90002);
    expect(error.message).toMatch(/AADSTS90002: Tenant 'contoso.onmicrosoft.com' not found/);
    expect(error.hint).toMatch(/--organization/);
  });

  it("maps 700016 and 700024 to their own hints", async () => {
    entraLike(400, {
      error: "unauthorized_client",
      error_description: "AADSTS700016: Application with identifier 'x' was not found in the directory 'y'.",
      error_codes: [700016],
    });
    const e1 = (await provider()
      .getToken()
      .catch((e: unknown) => e)) as AuthenticationError;
    expect(e1.aadstsCode).toBe(700016);
    expect(e1.hint).toMatch(/--app-id/);
    entraLike(401, {
      error: "invalid_client",
      error_description: "AADSTS700024: Client assertion is not within its valid time range.",
      error_codes: [700024],
    });
    const e2 = (await provider()
      .getToken()
      .catch((e: unknown) => e)) as AuthenticationError;
    expect(e2.aadstsCode).toBe(700024);
    expect(e2.hint).toMatch(/clock/);
  });

  it("retries a dropped connection to the identity host, then reports a TransientError", async () => {
    server.setHandler((_req, _res, socket) => {
      socket.destroy();
    });
    const error = (await provider()
      .getToken()
      .catch((e: unknown) => e)) as TransientError;
    expect(error).toBeInstanceOf(TransientError);
    expect(error.attempts).toBe(3);
    expect(error.message).toMatch(/identity endpoint/);
  });

  it("retries a throttled or failing token endpoint, honouring Retry-After (MSAL does not block the retry)", async () => {
    const answers: Array<{ status: number; headers: Record<string, string> }> = [
      { status: 429, headers: { "retry-after": "3" } },
      { status: 503, headers: {} },
    ];
    server.setHandler((req, res) => {
      if (req.method === "POST" && answers.length > 0) {
        const a = answers.shift()!;
        return sendJson(res, a.status, { error: "temporarily_unavailable" }, a.headers);
      }
      if (req.method === "POST") {
        return sendJson(res, 200, { token_type: "Bearer", expires_in: 3599, access_token: "after-retries" });
      }
      sendJson(res, 200, {
        issuer: `${server.origin}/${TENANT}/v2.0`,
        authorization_endpoint: `${server.origin}/${TENANT}/oauth2/v2.0/authorize`,
        token_endpoint: `${server.origin}/${TENANT}/oauth2/v2.0/token`,
        jwks_uri: `${server.origin}/${TENANT}/discovery/v2.0/keys`,
      });
    });
    const waits: number[] = [];
    const p = provider({
      retry: {
        maxAttempts: 3,
        random: () => 0,
        sleep: async (ms) => {
          waits.push(ms);
        },
      },
    });
    expect((await p.getToken()).token).toBe("after-retries");
    expect(waits).toEqual([3000, 0]);
    expect(server.requests.filter((r) => r.method === "POST")).toHaveLength(3);
  });

  it("refuses an encrypted private key before any request", () => {
    expect(() =>
      provider({
        credential: {
          certificatePem: cert.certificatePem,
          privateKeyPem: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAA==\n-----END ENCRYPTED PRIVATE KEY-----\n",
        },
      }),
    ).toThrow(/still encrypted/);
    expect(server.requests).toHaveLength(0);
  });

  it("refuses a key that cannot sign PS256 (not RSA) before any request", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    expect(() =>
      provider({
        credential: {
          certificatePem: cert.certificatePem,
          privateKeyPem: ec.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        },
      }),
    ).toThrow(/key is ec; Entra app certificates need RSA/);
    expect(server.requests).toHaveLength(0);
  });
});
