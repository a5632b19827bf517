import { createHash, randomUUID, X509Certificate } from "node:crypto";
import type { KeyCredentialRecord } from "../state.js";
import { badRequest, GraphError } from "./errors.js";

/**
 * keyCredentials as Graph handles them (docs/graph-queries.md, "Key credentials"): a PATCH replaces the whole
 * collection; entries re-sent with their keyId and `key: null` are kept; new entries carry the
 * certificate (base64 of the DER, or base64 of PEM text) and get keyId, dates and
 * customKeyIdentifier (SHA-1 thumbprint) from it.
 */

/** Far below Graph's real object size limit, but enough to catch a runaway rotation loop. */
export const MAX_KEY_CREDENTIALS = 100;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Dates sent by clients are often rounded to the second or minute. */
const DATE_TOLERANCE_MS = 60_000;

const invalidProperty = (property: string) =>
  badRequest(`Invalid value specified for property '${property}' of resource 'KeyCredential'.`);

/** DER bytes of the certificate in `key` (base64 of DER, or base64 of PEM text). */
function certificateDer(key: string): Buffer {
  const bytes = Buffer.from(key, "base64");
  const text = bytes.toString("latin1");
  if (text.includes("-----BEGIN CERTIFICATE-----")) {
    const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(text);
    return Buffer.from((m?.[1] ?? "").replace(/\s+/g, ""), "base64");
  }
  return bytes;
}

function parseDate(value: unknown, property: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === "string" ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw invalidProperty(property);
  return ms;
}

/** Validate one new credential from a request and complete it from its certificate. */
export function newKeyCredential(input: Record<string, unknown>, nowMs: number): KeyCredentialRecord {
  const type = input.type;
  if (type !== "AsymmetricX509Cert") throw invalidProperty("type");
  if (input.usage !== "Verify") {
    if (input.usage === "Sign") {
      throw badRequest(
        "A certificate credential with usage 'Sign' needs its private key; upload the public certificate with usage 'Verify'.",
      );
    }
    throw new GraphError(
      400,
      "Request_BadRequest",
      'The value for the property "usage" in one of your credentials is invalid. Acceptable values are Sign, Verify.',
    );
  }
  if (typeof input.key !== "string" || input.key.length === 0) throw invalidProperty("key");
  const der = certificateDer(input.key);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    throw invalidProperty("key");
  }
  if (cert.publicKey.asymmetricKeyType !== "rsa") throw invalidProperty("key");
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  const start = parseDate(input.startDateTime, "startDateTime") ?? notBefore;
  const end = parseDate(input.endDateTime, "endDateTime") ?? notAfter;
  if (end > notAfter + DATE_TOLERANCE_MS || end <= start || start < notBefore - DATE_TOLERANCE_MS) {
    throw new GraphError(400, "KeyCredentialsInvalidEndDate", "Key credential end date is invalid.");
  }
  if (
    input.keyId !== undefined &&
    input.keyId !== null &&
    (typeof input.keyId !== "string" || !GUID.test(input.keyId))
  ) {
    throw invalidProperty("keyId");
  }
  const displayName =
    typeof input.displayName === "string" && input.displayName
      ? input.displayName
      : cert.subject
          .split("\n")
          .map((p) => p.trim())
          .filter(Boolean)
          .join(", ");
  return {
    keyId: typeof input.keyId === "string" ? input.keyId.toLowerCase() : randomUUID(),
    type,
    usage: "Verify",
    key: der.toString("base64"),
    displayName: displayName.slice(0, 90),
    customKeyIdentifier:
      typeof input.customKeyIdentifier === "string" && input.customKeyIdentifier
        ? input.customKeyIdentifier
        : createHash("sha1").update(der).digest("base64"),
    startDateTime: new Date(start).toISOString(),
    endDateTime: new Date(end).toISOString(),
    addedAtMs: nowMs,
  };
}

/** The collection a PATCH/POST body asks for, given the current one (replace semantics). */
export function replaceKeyCredentials(
  input: unknown,
  existing: KeyCredentialRecord[],
  nowMs: number,
): KeyCredentialRecord[] {
  if (!Array.isArray(input))
    throw badRequest("Invalid value specified for property 'keyCredentials' of resource 'Application'.");
  if (input.length > MAX_KEY_CREDENTIALS) {
    throw new GraphError(
      400,
      "Directory_ResourceSizeExceeded",
      "The size of the object has exceeded its limit. Please reduce the number of values and retry your request",
    );
  }
  const out: KeyCredentialRecord[] = [];
  for (const item of input) {
    if (item === null || typeof item !== "object")
      throw badRequest("Invalid value specified for property 'keyCredentials' of resource 'Application'.");
    const entry = item as Record<string, unknown>;
    const keyId = typeof entry.keyId === "string" ? entry.keyId.toLowerCase() : undefined;
    const kept = keyId ? existing.find((k) => k.keyId === keyId) : undefined;
    if (kept && (entry.key === null || entry.key === undefined || entry.key === kept.key)) {
      out.push(kept);
    } else {
      out.push(newKeyCredential(entry, nowMs));
    }
  }
  const ids = new Set(out.map((k) => k.keyId));
  if (ids.size !== out.length) throw badRequest("keyCredentials contains the same keyId more than once.");
  return out;
}

/** JSON form; `key` only when asked for with `$select=keyCredentials` on a single object. */
export function keyCredentialJson(k: KeyCredentialRecord, withKey: boolean): Record<string, unknown> {
  return {
    customKeyIdentifier: k.customKeyIdentifier,
    displayName: k.displayName,
    endDateTime: k.endDateTime,
    key: withKey ? k.key : null,
    keyId: k.keyId,
    startDateTime: k.startDateTime,
    type: k.type,
    usage: k.usage,
  };
}
