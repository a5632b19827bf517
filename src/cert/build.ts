/**
 * Building certificates and certificate requests with @peculiar/x509, in the shape of
 * `New-SelfSignedCertificate -DnsName NAME -KeySpec Signature -KeyAlgorithm RSA -KeyLength 2048`.
 * Loaded on demand (by create.ts): the library is slow to import and only creation needs it.
 */
import { randomBytes, type webcrypto } from "node:crypto";
import { UsageError } from "../errors.js";
import { RSA_SHA256 } from "./keys.js";
import { x509 } from "./x509.js";

/** 16 random bytes with the top bit cleared, so the DER INTEGER is positive (RFC 5280 §4.1.2.2). */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  if (bytes[0] === 0) bytes[0] = 0x01;
  return bytes.toString("hex");
}

function leafExtensions(dnsName: string): x509.Extension[] {
  return [
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    // Client authentication is what Entra app-only sign-in uses; server authentication matches the
    // PowerShell cmdlet's default type so the same certificate behaves the same in both worlds.
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension([{ type: "dns", value: dnsName }]),
  ];
}

export async function buildSelfSignedCertificate(options: {
  dnsName: string;
  keys: webcrypto.CryptoKeyPair;
  notBefore: Date;
  notAfter: Date;
}): Promise<Buffer> {
  const extensions = leafExtensions(options.dnsName);
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(options.keys.publicKey));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: `CN=${options.dnsName}`,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    signingAlgorithm: RSA_SHA256,
    keys: options.keys,
    extensions,
  });
  return Buffer.from(cert.rawData);
}

/** PKCS#10 request carrying the same extensions a self-signed certificate would have, as a request to the CA. */
export async function buildCertificateRequest(options: {
  dnsName: string;
  subject: string;
  keys: webcrypto.CryptoKeyPair;
}): Promise<string> {
  const extensions = leafExtensions(options.dnsName);
  let name: x509.Name;
  try {
    name = new x509.Name(options.subject);
  } catch (error) {
    throw new UsageError(`'${options.subject}' is not a distinguished name: ${(error as Error).message}`, {
      hint: "Use the form CN=name, O=Organization, C=US.",
    });
  }
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys: options.keys,
    signingAlgorithm: RSA_SHA256,
    extensions,
  });
  return `${csr.toString("pem")}\n`;
}
