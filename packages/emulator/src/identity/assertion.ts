import { createHash, X509Certificate } from "node:crypto";
import type { KeyCredentialRecord } from "../state.js";
import { type DecodedJwt, decodeJwt, verifyJwtSignature } from "./jwt.js";

/**
 * Verification of a JWT signed with the private key of a certificate registered on an application:
 * client assertions at the token endpoint, and addKey/removeKey proofs at Graph. The header's
 * thumbprint (`x5t` SHA-1 or `x5t#S256` SHA-256) selects the key credential, as Entra does.
 */
export type CertificateJwtResult =
  | { ok: true; jwt: DecodedJwt; key: KeyCredentialRecord }
  | { ok: false; reason: "malformed" }
  | { ok: false; reason: "unsupported-alg"; alg: string }
  | {
      ok: false;
      reason: "key-not-found" | "key-expired" | "key-not-yet-valid" | "bad-signature";
      thumbprint: string;
    };

/**
 * The bytes of a thumbprint header. Entra compares the decoded digest, not the text: MSAL Python (and so
 * Azure CLI) sends base64url *with* `=` padding, Microsoft's doc examples show padded values, MSAL Node
 * strips the padding; some hand-written clients use the standard alphabet (`+`, `/`). All decode to the
 * same 20 (SHA-1) or 32 (SHA-256) bytes (docs/emulator.md, "Identity platform"). Undefined when the text
 * is not base64 at all.
 */
export function thumbprintBytes(value: unknown): Buffer | undefined {
  if (typeof value !== "string" || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return undefined;
  const bare = value.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  if (bare.length % 4 === 1) return undefined;
  return Buffer.from(bare, "base64url");
}

export function verifyCertificateJwt(
  token: string,
  keys: KeyCredentialRecord[],
  nowMs: number,
): CertificateJwtResult {
  const jwt = decodeJwt(token);
  if (!jwt) return { ok: false, reason: "malformed" };
  const alg = String(jwt.header.alg ?? "");
  if (alg !== "RS256" && alg !== "PS256") return { ok: false, reason: "unsupported-alg", alg };
  // x5t#S256 wins when both are present (as MSAL Node sends them with thumbprintSha256 + x5c).
  const hasS256 = jwt.header["x5t#S256"] !== undefined;
  const wanted = thumbprintBytes(hasS256 ? jwt.header["x5t#S256"] : jwt.header.x5t);
  const algorithm = hasS256 ? "sha256" : "sha1";
  // Entra prints the thumbprint the client sent in upper-case hex.
  const thumbprint = wanted?.toString("hex").toUpperCase() ?? "";
  const key = wanted
    ? keys.find((k) => {
        if (k.type !== "AsymmetricX509Cert" && k.type !== "X509CertAndPassword") return false;
        return createHash(algorithm).update(Buffer.from(k.key, "base64")).digest().equals(wanted);
      })
    : undefined;
  if (!key) return { ok: false, reason: "key-not-found", thumbprint };
  if (Date.parse(key.endDateTime) <= nowMs) return { ok: false, reason: "key-expired", thumbprint };
  if (Date.parse(key.startDateTime) > nowMs) return { ok: false, reason: "key-not-yet-valid", thumbprint };
  const publicKey = new X509Certificate(Buffer.from(key.key, "base64")).publicKey;
  if (!verifyJwtSignature(jwt, publicKey)) return { ok: false, reason: "bad-signature", thumbprint };
  return { ok: true, jwt, key };
}
