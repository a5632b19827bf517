import { createHash, randomUUID, X509Certificate } from "node:crypto";
import { base64url } from "./jwt.js";
import type { ExternalSigner } from "./types.js";

/** Lifetime of a client assertion: Entra asks for 5–10 minutes; MSAL uses 600 s. */
export const ASSERTION_LIFETIME_SECONDS = 600;

export interface AssertionInput {
  appId: string;
  /** The token endpoint the assertion is posted to (its `aud`); MSAL passes it to the callback. */
  tokenEndpoint: string;
  /** PEM of the certificate whose key signs; only its SHA-256 thumbprint goes into the header. */
  certificatePem: string;
  sign: ExternalSigner;
  nowSeconds?: number;
  jti?: string;
}

/** SHA-256 of the certificate DER, base64url: the `x5t#S256` header Entra matches against the app's keys. */
export function certificateSha256Thumbprint(certificatePem: string): Buffer {
  const der = new X509Certificate(certificatePem).raw;
  return createHash("sha256").update(der).digest();
}

/**
 * Build a PS256 client assertion whose signature comes from an external signer (Key Vault–style
 * non-exportable key). Same shape MSAL builds with `thumbprintSha256`: header alg/typ/x5t#S256,
 * claims aud/iss/sub/jti/nbf/iat/exp.
 */
export async function buildClientAssertion(input: AssertionInput): Promise<string> {
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  const header = {
    alg: "PS256",
    typ: "JWT",
    "x5t#S256": base64url(certificateSha256Thumbprint(input.certificatePem)),
  };
  const claims = {
    aud: input.tokenEndpoint,
    iss: input.appId,
    sub: input.appId,
    jti: input.jti ?? randomUUID(),
    nbf: now,
    iat: now,
    exp: now + ASSERTION_LIFETIME_SECONDS,
  };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = await input.sign(new TextEncoder().encode(signingInput));
  return `${signingInput}.${base64url(signature)}`;
}
