import { createHash, X509Certificate as NodeX509Certificate } from "node:crypto";
import { UsageError } from "../errors.js";
import { certificatePemToDer, looksLikePem } from "./pem.js";
import type { ParsedCertificate } from "./types.js";

const DAY_MS = 86_400_000;

export const sha1Hex = (der: Uint8Array) => createHash("sha1").update(der).digest("hex").toUpperCase();
export const sha256Hex = (der: Uint8Array) => createHash("sha256").update(der).digest("hex").toUpperCase();

/** Key id of a public key: SHA-256 of its SubjectPublicKeyInfo DER (lower-case hex, a safe file name). */
export function keyIdOfSpki(spkiDer: Uint8Array): string {
  return createHash("sha256").update(spkiDer).digest("hex");
}

/**
 * Parse one certificate (DER bytes, or PEM text/bytes); throws UsageError when it is not one.
 * Only node:crypto here: this runs on every connection, and @peculiar/x509 costs hundreds of
 * milliseconds to load, so it is kept for building certificates.
 */
export function parseCertificate(input: Uint8Array | string, now: Date = new Date()): ParsedCertificate {
  const der = toDer(input);
  let node: NodeX509Certificate;
  try {
    node = new NodeX509Certificate(der);
  } catch (error) {
    throw new UsageError(`Not a readable X.509 certificate: ${(error as Error).message}`, {
      hint: "Give a certificate in DER (.cer/.crt) or PEM form.",
    });
  }
  const keyDetails = node.publicKey.asymmetricKeyDetails;
  const keyType = node.publicKey.asymmetricKeyType ?? "unknown";
  const spki = node.publicKey.export({ type: "spki", format: "der" });
  const subject = distinguishedName(node.subject);
  const issuer = distinguishedName(node.issuer);
  // Node 20 has no validFromDate; its validFrom/validTo are always "Mon DD HH:MM:SS YYYY GMT".
  const notBefore = new Date(node.validFrom);
  const notAfter = new Date(node.validTo);
  return {
    thumbprint: sha1Hex(der),
    thumbprintSha256: sha256Hex(der),
    subject,
    issuer,
    dnsNames: dnsNamesOf(node.subjectAltName),
    notBefore,
    notAfter,
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS),
    keyAlgorithm: keyType === "rsa" ? "RSA" : keyType.toUpperCase(),
    keySize: keyType === "rsa" ? (keyDetails?.modulusLength ?? 0) : 0,
    serialNumber: node.serialNumber.toUpperCase(),
    selfSigned: subject === issuer && node.checkIssued(node),
    keyId: keyIdOfSpki(spki),
  };
}

/** Node prints one RDN per line, in encoded order; we show them comma-separated in that order. */
function distinguishedName(lines: string): string {
  return lines.split("\n").filter(Boolean).join(", ");
}

/** DNS entries of Node's subjectAltName text (`DNS:a, DNS:"b,c", IP Address:…`; quoted when unusual). */
function dnsNamesOf(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const names: string[] = [];
  for (const match of subjectAltName.matchAll(/(?:^|, )DNS:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const value = match[1]!;
    names.push(value.startsWith('"') ? (JSON.parse(value) as string) : value);
  }
  return names;
}

/** Inspect any certificate given as PEM text. */
export function inspectCertificatePem(pem: string, now: Date = new Date()): ParsedCertificate {
  return parseCertificate(pem, now);
}

/** Base64 (standard, padded) of the certificate DER: what Graph `keyCredentials[].key` takes. */
export function certificateDerBase64(pem: string): string {
  return toDer(pem).toString("base64");
}

function toDer(input: Uint8Array | string): Buffer {
  if (typeof input === "string") return certificatePemToDerOrThrow(input);
  if (looksLikePem(input)) return certificatePemToDerOrThrow(Buffer.from(input).toString("utf8"));
  return Buffer.from(input);
}

function certificatePemToDerOrThrow(pem: string): Buffer {
  try {
    return certificatePemToDer(pem);
  } catch {
    throw new UsageError("The PEM text holds no CERTIFICATE block.");
  }
}
