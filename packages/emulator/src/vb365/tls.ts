import "reflect-metadata";
import { createHash, X509Certificate as NodeX509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import { ensurePrivateDir, fileExists, writeFileAtomic } from "../fs.js";
import { DAY_MS, exportKeyPem, generateKeys, RSA_ALG, serialHex } from "../tls.js";

/**
 * The VB365 listener's own certificate: self-signed, NOT issued by the emulator CA, because a real
 * VB365 REST service usually presents a self-signed certificate its installer generated
 * (docs/emulator-vb365.md). Clients must trust it by file or pin its SHA-256 fingerprint.
 */

export interface Vb365Tls {
  certPem: string;
  keyPem: string;
  /** PEM on disk (state dir, or a temp dir removed by `dispose`) */
  certFile: string;
  /** SHA-256 of the DER, "AB:CD:…" */
  fingerprintSha256: string;
  dispose(): Promise<void>;
}

/** SHA-256 of a PEM certificate's DER as upper-case hex pairs joined by ':'. */
export function fingerprintOf(certPem: string): string {
  const der = new NodeX509Certificate(certPem).raw;
  return createHash("sha256")
    .update(der)
    .digest("hex")
    .toUpperCase()
    .replace(/(..)(?!$)/g, "$1:");
}

async function createSelfSigned(host: string): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateKeys();
  const names: Array<{ type: "ip" | "dns"; value: string }> = [
    { type: "ip", value: "127.0.0.1" },
    { type: "dns", value: "localhost" },
  ];
  if (!names.some((n) => n.value === host)) {
    names.push({ type: /^[\d.]+$|:/.test(host) ? "ip" : "dns", value: host });
  }
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialHex(),
    name: "CN=localhost, O=Veeam Backup for Microsoft 365 (exo-cba emulator)",
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 5 * 365 * DAY_MS),
    signingAlgorithm: RSA_ALG,
    keys,
    extensions: [
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
    ],
  });
  return {
    certPem: `${cert.toString("pem")}\n`,
    keyPem: await exportKeyPem(keys.privateKey),
  };
}

function usable(certPem: string, host: string): boolean {
  try {
    const cert = new NodeX509Certificate(certPem);
    if (Date.parse(cert.validTo) - Date.now() < 7 * DAY_MS) return false;
    return cert.checkHost(host) !== undefined || cert.checkIP(host) !== undefined;
  } catch {
    return false;
  }
}

/** Load `vb365.pem` / `vb365-key.pem` from the state dir, or create them (a temp dir without one). */
export async function loadOrCreateVb365Tls(options: { stateDir?: string; host: string }): Promise<Vb365Tls> {
  const { stateDir, host } = options;
  if (!stateDir) {
    const { certPem, keyPem } = await createSelfSigned(host);
    const dir = await mkdtemp(join(tmpdir(), "exo-cba-vb365-"));
    const certFile = join(dir, "vb365.pem");
    await writeFileAtomic(certFile, certPem, { mode: 0o644 });
    return {
      certPem,
      keyPem,
      certFile,
      fingerprintSha256: fingerprintOf(certPem),
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  }
  await ensurePrivateDir(stateDir);
  const certFile = join(stateDir, "vb365.pem");
  const keyFile = join(stateDir, "vb365-key.pem");
  let certPem = (await fileExists(certFile)) ? await readFile(certFile, "utf8") : "";
  let keyPem = (await fileExists(keyFile)) ? await readFile(keyFile, "utf8") : "";
  if (!certPem || !keyPem || !usable(certPem, host)) {
    ({ certPem, keyPem } = await createSelfSigned(host));
    await writeFileAtomic(keyFile, keyPem, { mode: 0o600 });
    await writeFileAtomic(certFile, certPem, { mode: 0o644 });
  }
  return { certPem, keyPem, certFile, fingerprintSha256: fingerprintOf(certPem), dispose: async () => {} };
}
