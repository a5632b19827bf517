import { X509Certificate } from "node:crypto";
import type { KeyCredentialRecord } from "../state.js";
import { certificateThumbprints, type DecodedJwt, decodeJwt, verifyJwtSignature } from "./jwt.js";

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

/** Hex form of the thumbprint the client sent, for error texts (Entra prints it uppercase). */
const hexOf = (b64u: string) => Buffer.from(b64u, "base64url").toString("hex").toUpperCase();

export function verifyCertificateJwt(
  token: string,
  keys: KeyCredentialRecord[],
  nowMs: number,
): CertificateJwtResult {
  const jwt = decodeJwt(token);
  if (!jwt) return { ok: false, reason: "malformed" };
  const alg = String(jwt.header.alg ?? "");
  if (alg !== "RS256" && alg !== "PS256") return { ok: false, reason: "unsupported-alg", alg };
  const s256 = typeof jwt.header["x5t#S256"] === "string" ? (jwt.header["x5t#S256"] as string) : undefined;
  const s1 = typeof jwt.header.x5t === "string" ? (jwt.header.x5t as string) : undefined;
  const thumbprint = hexOf(s256 ?? s1 ?? "");
  const key = keys.find((k) => {
    if (k.type !== "AsymmetricX509Cert" && k.type !== "X509CertAndPassword") return false;
    const t = certificateThumbprints(Buffer.from(k.key, "base64"));
    return (
      (s256 !== undefined && t.x5tS256 === s256) || (s256 === undefined && s1 !== undefined && t.x5t === s1)
    );
  });
  if (!key) return { ok: false, reason: "key-not-found", thumbprint };
  if (Date.parse(key.endDateTime) <= nowMs) return { ok: false, reason: "key-expired", thumbprint };
  if (Date.parse(key.startDateTime) > nowMs) return { ok: false, reason: "key-not-yet-valid", thumbprint };
  const publicKey = new X509Certificate(Buffer.from(key.key, "base64")).publicKey;
  if (!verifyJwtSignature(jwt, publicKey)) return { ok: false, reason: "bad-signature", thumbprint };
  return { ok: true, jwt, key };
}
