import { createHash } from "node:crypto";
import type { KeyCredential } from "./types.js";

/**
 * An application's `keyCredentials` (its registered certificates) as Graph returns and accepts them
 * (docs/graph-queries.md): which entry is which certificate, a new entry for a certificate, and the
 * "keep this one" form of an entry that a PATCH of the whole collection sends back. Setup, rotation,
 * revocation and doctor all use these; they hold no policy of their own.
 */

/** The public part of a certificate, as a key credential entry needs it. */
export interface CertificateForKey {
  certificatePem: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

/** DER bytes of a PEM certificate. */
export function pemToDer(pem: string): Buffer {
  const body = pem
    .replace(/-----BEGIN CERTIFICATE-----/, "")
    .replace(/-----END CERTIFICATE-----[\s\S]*/, "")
    .replace(/\s+/g, "");
  return Buffer.from(body, "base64");
}

/**
 * Is this registered key our certificate? Graph returns `customKeyIdentifier` (defaults to the SHA-1
 * thumbprint bytes, base64) on every read, and the `key` itself only on a single-object `$select`; the
 * key may have been uploaded as base64 DER or base64 PEM text (docs/graph-queries.md).
 */
export function keyMatchesThumbprint(key: KeyCredential, thumbprint: string): boolean {
  const want = thumbprint.toUpperCase();
  const cki = key.customKeyIdentifier;
  if (cki) {
    if (cki.toUpperCase() === want) return true;
    const bytes = Buffer.from(cki, "base64");
    if (bytes.toString("hex").toUpperCase() === want) return true;
    if (bytes.toString("utf8").toUpperCase() === want) return true;
  }
  if (key.key) {
    let der: Buffer = Buffer.from(key.key, "base64");
    const asText = der.toString("utf8");
    if (asText.includes("-----BEGIN CERTIFICATE-----")) der = pemToDer(asText);
    if (createHash("sha1").update(der).digest("hex").toUpperCase() === want) return true;
  }
  return false;
}

/** The registered key that is the certificate with this thumbprint, if any. */
export function findKey(keys: KeyCredential[], thumbprint: string): KeyCredential | undefined {
  return keys.find((k) => keyMatchesThumbprint(k, thumbprint));
}

/** The keyCredential entry for a new certificate: dates exactly the certificate's own, in UTC. */
export function newKeyCredential(cert: CertificateForKey): KeyCredential {
  return {
    type: "AsymmetricX509Cert",
    usage: "Verify",
    key: pemToDer(cert.certificatePem).toString("base64"),
    displayName: cert.subject.slice(0, 90),
    startDateTime: cert.notBefore.toISOString(),
    endDateTime: cert.notAfter.toISOString(),
  };
}

/**
 * An entry as PATCH expects it for "keep this one": its keyId and everything but the key bytes
 * (`key: null`, which the service reads as "keep").
 */
export function keepEntry(k: KeyCredential): KeyCredential {
  return {
    ...(k.keyId ? { keyId: k.keyId } : {}),
    type: k.type,
    usage: k.usage,
    key: null,
    ...(k.displayName !== undefined ? { displayName: k.displayName } : {}),
    ...(k.customKeyIdentifier !== undefined ? { customKeyIdentifier: k.customKeyIdentifier } : {}),
    ...(k.startDateTime !== undefined ? { startDateTime: k.startDateTime } : {}),
    ...(k.endDateTime !== undefined ? { endDateTime: k.endDateTime } : {}),
  };
}

/** PATCH replaces the whole collection: send every existing entry back by its keyId and append ours. */
export function appendKeyCredential(existing: KeyCredential[], added: KeyCredential): KeyCredential[] {
  return [...existing.map(keepEntry), added];
}
