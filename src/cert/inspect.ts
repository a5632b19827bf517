import { createHash, X509Certificate as NodeX509Certificate } from "node:crypto";
import { UsageError } from "../errors.js";
import { certificatePemToDer, looksLikePem } from "./pem.js";
import type { ParsedCertificate } from "./types.js";
import { x509 } from "./x509.js";

const DAY_MS = 86_400_000;

export const sha1Hex = (der: Uint8Array) => createHash("sha1").update(der).digest("hex").toUpperCase();
export const sha256Hex = (der: Uint8Array) => createHash("sha256").update(der).digest("hex").toUpperCase();

/** Key id of a public key: SHA-256 of its SubjectPublicKeyInfo DER (lower-case hex, a safe file name). */
export function keyIdOfSpki(spkiDer: Uint8Array): string {
  return createHash("sha256").update(spkiDer).digest("hex");
}

/** Parse one certificate (DER bytes, or PEM text/bytes); throws UsageError when it is not one. */
export function parseCertificate(input: Uint8Array | string, now: Date = new Date()): ParsedCertificate {
  const der = toDer(input);
  let cert: x509.X509Certificate;
  let node: NodeX509Certificate;
  try {
    cert = new x509.X509Certificate(der);
    node = new NodeX509Certificate(der);
  } catch (error) {
    throw new UsageError(`Not a readable X.509 certificate: ${(error as Error).message}`, {
      hint: "Give a certificate in DER (.cer/.crt) or PEM form.",
    });
  }
  const keyDetails = node.publicKey.asymmetricKeyDetails;
  const keyType = node.publicKey.asymmetricKeyType ?? "unknown";
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const dnsNames = san ? san.names.items.filter((n) => n.type === "dns").map((n) => n.value) : [];
  const spki = node.publicKey.export({ type: "spki", format: "der" });
  return {
    thumbprint: sha1Hex(der),
    thumbprintSha256: sha256Hex(der),
    subject: cert.subject,
    issuer: cert.issuer,
    dnsNames,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    daysLeft: Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS),
    keyAlgorithm: keyType === "rsa" ? "RSA" : keyType.toUpperCase(),
    keySize: keyType === "rsa" ? (keyDetails?.modulusLength ?? 0) : 0,
    serialNumber: cert.serialNumber.toUpperCase(),
    selfSigned: cert.subject === cert.issuer && node.checkIssued(node),
    keyId: keyIdOfSpki(spki),
  };
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
