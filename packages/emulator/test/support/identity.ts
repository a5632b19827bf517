import "reflect-metadata";
import { createHash, createPrivateKey, type KeyObject, randomUUID, webcrypto } from "node:crypto";
import { Agent } from "node:https";
import * as x509 from "@peculiar/x509";
import { emptyUsageTruth } from "../../src/data/mailboxes.js";
import { b64url, signJwt } from "../../src/identity/jwt.js";
import type { RunningEmulator } from "../../src/types.js";
import { httpsRequest } from "./https.js";

/**
 * Helpers for the emulator's own tests: client certificates (like `cert new` makes), hand-signed
 * client assertions and proofs (to forge what MSAL never would), and a small HTTPS client.
 */

export interface TestCertificate {
  certPem: string;
  keyPem: string;
  der: Buffer;
  privateKey: KeyObject;
  /** base64 of the DER: Graph's keyCredential `key` */
  keyBase64: string;
  sha1Hex: string;
  sha256Hex: string;
}

const ALG = {
  name: "RSASSA-PKCS1-v1_5",
  hash: "SHA-256",
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};

export async function makeCertificate(
  options: { subject?: string; notBefore?: Date; notAfter?: Date } = {},
): Promise<TestCertificate> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${options.subject ?? "exo-cba-test"}`,
    notBefore: options.notBefore ?? new Date(now - 600_000),
    notAfter: options.notAfter ?? new Date(now + 365 * 86_400_000),
    signingAlgorithm: ALG,
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"],
  });
  const der = Buffer.from(cert.rawData);
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const privateKey = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  return {
    certPem: `${cert.toString("pem")}\n`,
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    der,
    privateKey,
    keyBase64: der.toString("base64"),
    sha1Hex: createHash("sha1").update(der).digest("hex").toUpperCase(),
    sha256Hex: createHash("sha256").update(der).digest("hex").toUpperCase(),
  };
}

/** A client assertion signed like MSAL does (PS256 + x5t#S256, or RS256 + x5t), with overrides to forge. */
export function signAssertion(options: {
  cert: TestCertificate;
  /** key that signs (default the certificate's) */
  signingKey?: KeyObject;
  alg?: "RS256" | "PS256";
  clientId: string;
  aud: string;
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
}): string {
  const alg = options.alg ?? "PS256";
  const now = Math.floor(Date.now() / 1000);
  const header: Record<string, unknown> = { alg, typ: "JWT" };
  if (alg === "PS256") header["x5t#S256"] = b64url(Buffer.from(options.cert.sha256Hex, "hex"));
  else header.x5t = b64url(Buffer.from(options.cert.sha1Hex, "hex"));
  const payload = {
    aud: options.aud,
    iss: options.clientId,
    sub: options.clientId,
    jti: randomUUID(),
    nbf: now,
    iat: now,
    exp: now + 600,
    ...options.claims,
  };
  return signJwt({ ...header, ...options.header }, payload, options.signingKey ?? options.cert.privateKey);
}

/** An unsigned `alg: none` token. */
export function unsignedJwt(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return `${b64url(JSON.stringify({ ...header, alg: "none" }))}.${b64url(JSON.stringify(payload))}.`;
}

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  body: any;
  text: string;
}

/** Plain HTTPS calls trusting the emulator's CA. */
export class EmulatorClient {
  private readonly agent: Agent;
  constructor(readonly emu: RunningEmulator) {
    this.agent = new Agent({ keepAlive: true, ca: emu.caPem });
  }

  async call(
    method: string,
    url: string,
    options: {
      token?: string;
      json?: unknown;
      form?: Record<string, string>;
      headers?: Record<string, string>;
    } = {},
  ): Promise<TestResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(options.form).toString();
    }
    const res = await httpsRequest({
      method,
      url,
      caPem: this.emu.caPem,
      agent: this.agent,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const text = res.text;
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  /** `<graph>/v1.0/<path>` */
  graph(method: string, path: string, token: string, json?: unknown, headers?: Record<string, string>) {
    return this.call(method, `${this.emu.graphEndpoint}/v1.0/${path}`, {
      token,
      ...(json === undefined ? {} : { json }),
      ...(headers ? { headers } : {}),
    });
  }

  /** POST the token endpoint of `tenant` (default: the tenant GUID). */
  token(form: Record<string, string>, tenant = this.emu.tenant.id) {
    return this.call("POST", `${this.emu.authorityHost}/${tenant}/oauth2/v2.0/token`, { form });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Decode a JWT's payload without verifying (assertions in tests). */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary claims
export const jwtPayload = (token: string): Record<string, any> =>
  JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));

/** An Exchange wiring that answers 404: for tests of identity and Graph alone. */
export const fakeExchange = {
  createHandler: () => (_req: unknown, res: { statusCode: number; end(): void }) => {
    res.statusCode = 404;
    res.end();
  },
  createDataset: () => ({
    expectedUsage: emptyUsageTruth,
  }),
};

export const EXO_APP_ID = "00000002-0000-0ff1-ce00-000000000000";
export const MANAGE_AS_APP = "dc50a0fb-09a3-484d-be87-e023b12c6440";
export const EXCHANGE_ADMIN_ROLE = "29232cdf-9323-42fd-ade2-1d097af3e4de";

export interface ProvisionedApp {
  id: string;
  appId: string;
  spId: string;
}

/**
 * What `setup` does, by hand: app with certificates, its service principal, the Exchange.ManageAsApp
 * grant and a directory role. Throws with the Graph answer when a step fails.
 */
export async function provisionApp(
  client: EmulatorClient,
  adminToken: string,
  options: { displayName?: string; certs: TestCertificate[]; role?: string | null; grant?: boolean },
): Promise<ProvisionedApp> {
  const expect = (r: TestResponse, status: number, what: string) => {
    if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} ${r.text}`);
    return r.body;
  };
  const app = expect(
    await client.graph("POST", "applications", adminToken, {
      displayName: options.displayName ?? "exo-cba-test",
      keyCredentials: options.certs.map((c) => ({
        type: "AsymmetricX509Cert",
        usage: "Verify",
        key: c.keyBase64,
      })),
    }),
    201,
    "create app",
  );
  const sp = expect(
    await client.graph("POST", "servicePrincipals", adminToken, { appId: app.appId }),
    201,
    "create sp",
  );
  if (options.grant !== false) {
    const exo = expect(
      await client.graph("GET", `servicePrincipals?$filter=appId eq '${EXO_APP_ID}'`, adminToken),
      200,
      "find exo sp",
    );
    const exoId = exo.value[0].id as string;
    expect(
      await client.graph("POST", `servicePrincipals/${exoId}/appRoleAssignedTo`, adminToken, {
        principalId: sp.id,
        resourceId: exoId,
        appRoleId: MANAGE_AS_APP,
      }),
      201,
      "grant",
    );
  }
  if (options.role !== null) {
    expect(
      await client.graph("POST", "roleManagement/directory/roleAssignments", adminToken, {
        principalId: sp.id,
        roleDefinitionId: options.role ?? EXCHANGE_ADMIN_ROLE,
        directoryScopeId: "/",
      }),
      201,
      "role",
    );
  }
  return { id: app.id, appId: app.appId, spId: sp.id };
}
