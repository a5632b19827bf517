import "reflect-metadata";
import { X509Certificate as NodeX509Certificate, randomBytes, webcrypto } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

import { ensurePrivateDir, fileExists, writeFileAtomic } from "./fs.js";

/**
 * The emulator's private PKI: one CA and one server certificate for the loopback listeners.
 * With a state dir both persist (keys 0600 in a 0700 dir) so clients that trusted the CA once
 * (NODE_EXTRA_CA_CERTS) keep working after a restart.
 */
export interface EmulatorTls {
  caPem: string;
  /** where the CA PEM lives on disk (state dir, or a temp dir removed by `dispose`) */
  caFile: string;
  certPem: string;
  keyPem: string;
  dispose(): Promise<void>;
}

/** Key and signature algorithm of every emulator certificate (shared with the VB365 listener's). */
export const RSA_ALG = {
  name: "RSASSA-PKCS1-v1_5",
  hash: "SHA-256",
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

export const DAY_MS = 86_400_000;
/** Regenerate the server certificate when it has less than this left, so a long-lived state dir never serves an expired one. */
const SERVER_RENEW_BEFORE_MS = 7 * DAY_MS;

// Node's WebCrypto, explicitly: the global `crypto` is the same object, but this survives test isolation.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export const pemBlock = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .replace(/\n$/, "")}\n-----END ${label}-----\n`;

/** Positive 16-byte serial (top bit cleared), as RFC 5280 wants. */
export function serialHex(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString("hex");
}

export async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(RSA_ALG, true, ["sign", "verify"])) as CryptoKeyPair;
}

export async function exportKeyPem(key: CryptoKey): Promise<string> {
  return pemBlock("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", key));
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
  return (await webcrypto.subtle.importKey("pkcs8", der, RSA_ALG, true, ["sign"])) as CryptoKey;
}

async function createCa(
  pendingKeys: Promise<CryptoKeyPair> = generateKeys(),
): Promise<{ certPem: string; keyPem: string; keys: CryptoKeyPair }> {
  const keys = await pendingKeys;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialHex(),
    name: "CN=exo-cba emulator CA, O=exo-cba",
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 10 * 365 * DAY_MS),
    signingAlgorithm: RSA_ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: `${cert.toString("pem")}\n`, keyPem: await exportKeyPem(keys.privateKey), keys };
}

async function createServerCert(
  caCertPem: string,
  caKey: CryptoKey,
  host: string,
  pendingKeys: Promise<CryptoKeyPair> = generateKeys(),
): Promise<{ certPem: string; keyPem: string }> {
  const keys = await pendingKeys;
  const ca = new x509.X509Certificate(caCertPem);
  const now = Date.now();
  const names: Array<{ type: "ip" | "dns"; value: string }> = [
    { type: "ip", value: "127.0.0.1" },
    { type: "dns", value: "localhost" },
  ];
  if (!names.some((n) => n.value === host)) {
    names.push({ type: /^[\d.]+$|:/.test(host) ? "ip" : "dns", value: host });
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(),
    subject: "CN=localhost, O=exo-cba emulator",
    issuer: ca.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 365 * DAY_MS),
    signingAlgorithm: RSA_ALG,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
    ],
  });
  return { certPem: `${cert.toString("pem")}\n`, keyPem: await exportKeyPem(keys.privateKey) };
}

/** True when the stored server certificate is still good for this host and was issued by this CA. */
function serverCertUsable(certPem: string, caPem: string, host: string): boolean {
  try {
    const cert = new NodeX509Certificate(certPem);
    const ca = new NodeX509Certificate(caPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    if (Date.parse(cert.validTo) - Date.now() < SERVER_RENEW_BEFORE_MS) return false;
    return cert.checkHost(host) !== undefined || cert.checkIP(host) !== undefined;
  } catch {
    return false;
  }
}

/** Files of the PKI inside a state dir. */
export const tlsFiles = (dir: string) => ({
  caCert: join(dir, "ca.pem"),
  caKey: join(dir, "ca-key.pem"),
  serverCert: join(dir, "server.pem"),
  serverKey: join(dir, "server-key.pem"),
});

/** Load the CA and server certificate from `stateDir`, creating (and persisting) what is missing. */
export async function loadOrCreateTls(options: { stateDir?: string; host: string }): Promise<EmulatorTls> {
  const { stateDir, host } = options;
  if (!stateDir) {
    // Both RSA keys are generated at once: key generation dominates start-up time.
    const serverKeys = generateKeys();
    const ca = await createCa();
    const server = await createServerCert(ca.certPem, ca.keys.privateKey, host, serverKeys);
    const dir = await mkdtemp(join(tmpdir(), "exo-cba-emulator-"));
    const caFile = join(dir, "ca.pem");
    await writeFileAtomic(caFile, ca.certPem, { mode: 0o644 });
    return {
      caPem: ca.certPem,
      caFile,
      certPem: server.certPem,
      keyPem: server.keyPem,
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  }
  await ensurePrivateDir(stateDir);
  const files = tlsFiles(stateDir);
  let caPem: string;
  let caKey: CryptoKey;
  if ((await fileExists(files.caCert)) && (await fileExists(files.caKey))) {
    caPem = await readFile(files.caCert, "utf8");
    caKey = await importKeyPem(await readFile(files.caKey, "utf8"));
  } else {
    const ca = await createCa();
    await writeFileAtomic(files.caKey, ca.keyPem, { mode: 0o600 });
    await writeFileAtomic(files.caCert, ca.certPem, { mode: 0o644 });
    caPem = ca.certPem;
    caKey = ca.keys.privateKey;
  }
  let certPem = (await fileExists(files.serverCert)) ? await readFile(files.serverCert, "utf8") : "";
  let keyPem = (await fileExists(files.serverKey)) ? await readFile(files.serverKey, "utf8") : "";
  if (!certPem || !keyPem || !serverCertUsable(certPem, caPem, host)) {
    const server = await createServerCert(caPem, caKey, host);
    await writeFileAtomic(files.serverKey, server.keyPem, { mode: 0o600 });
    await writeFileAtomic(files.serverCert, server.certPem, { mode: 0o644 });
    certPem = server.certPem;
    keyPem = server.keyPem;
  }
  return { caPem, caFile: files.caCert, certPem, keyPem, dispose: async () => {} };
}
