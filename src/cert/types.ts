import type { KeyObject } from "node:crypto";

/** What auth needs to sign a client assertion. Keys are unencrypted, in memory only. */
export interface CertificateCredential {
  certificatePem: string;
  /** Unencrypted PKCS#8 PEM (exported from `privateKey` when first read). */
  privateKeyPem: string;
  /** The parsed key: what signs, without parsing the PEM again. */
  privateKey?: KeyObject;
  /** SHA-1 of the DER, 40 upper-case hex (what the Azure portal shows). */
  thumbprint: string;
  /** SHA-256 of the DER, 64 upper-case hex (MSAL `thumbprintSha256` → PS256 + x5t#S256). */
  thumbprintSha256: string;
  notBefore: Date;
  notAfter: Date;
  subject: string;
  /** Issuer chain (PEM, leaf's issuer first) when known. */
  chainPem?: string[];
}

export type CertificateOrigin = "self-signed" | "ca" | "imported";

/** What any certificate says about itself, without knowing whether we hold its key. */
export interface ParsedCertificate {
  thumbprint: string;
  thumbprintSha256: string;
  subject: string;
  issuer: string;
  dnsNames: string[];
  notBefore: Date;
  notAfter: Date;
  /** Whole days until notAfter (negative once expired). */
  daysLeft: number;
  /** "RSA", "EC", ... */
  keyAlgorithm: string;
  /** Modulus bits for RSA; 0 when not RSA. */
  keySize: number;
  /** Serial number, upper-case hex. */
  serialNumber: string;
  selfSigned: boolean;
  /** SHA-256 of the SubjectPublicKeyInfo, lower-case hex: how keys in the store are named and found. */
  keyId: string;
}

/** A certificate of the local store. */
export interface CertificateInfo extends ParsedCertificate {
  friendlyName?: string;
  hasKey: boolean;
  origin: CertificateOrigin;
}
