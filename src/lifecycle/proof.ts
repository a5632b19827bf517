import { createHash, createPrivateKey, randomUUID, sign, X509Certificate } from "node:crypto";

/**
 * The proof-of-possession JWT that `POST /applications/{id}/addKey` and `/removeKey` require
 * (docs/graph-queries.md, "Key credentials"): signed with the private key of a certificate that is already
 * registered on the app and still valid; `aud` is the fixed AAD Graph resource id, `iss` the application
 * *object* id, valid for 10 minutes. This is what lets an app rotate its own key unattended.
 */
export const PROOF_AUDIENCE = "00000002-0000-0000-c000-000000000000";
export const PROOF_LIFETIME_SECONDS = 600;

export interface ProofInput {
  /** Object id of the application (not the client id). */
  applicationObjectId: string;
  /** The signing certificate (registered on the app) and its private key. */
  certificatePem: string;
  privateKeyPem: string;
  nowSeconds?: number;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

export function buildKeyProof(input: ProofInput): string {
  const der = new X509Certificate(input.certificatePem).raw;
  const sha1 = createHash("sha1").update(der).digest();
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  // RS256 with x5t (SHA-1) is the shape of Microsoft's documented sample; kid repeats the thumbprint in hex
  // so a verifier can match either way.
  const header = { alg: "RS256", typ: "JWT", x5t: b64url(sha1), kid: sha1.toString("hex").toUpperCase() };
  const claims = {
    aud: PROOF_AUDIENCE,
    iss: input.applicationObjectId,
    jti: randomUUID(),
    nbf: now,
    iat: now,
    exp: now + PROOF_LIFETIME_SECONDS,
  };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign("sha256", Buffer.from(signingInput), createPrivateKey(input.privateKeyPem));
  return `${signingInput}.${b64url(signature)}`;
}
