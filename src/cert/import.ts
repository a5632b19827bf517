import { UsageError } from "../errors.js";
import { parseCertificate } from "./inspect.js";
import { assertUsableKey, keyIdOf } from "./keys.js";
import { pickLeaf, readCertificateMaterial, readFileBytes } from "./source.js";
import { CertStore } from "./store.js";
import type { CertificateInfo, CertificateOrigin } from "./types.js";

export interface ImportOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  path: string;
  /** Password of a PFX or of an encrypted PEM key. */
  password?: string;
  /** Accept an expired certificate. */
  force?: boolean;
  friendlyName?: string;
  /** How the caller supplies a password, for error hints. */
  passwordHint?: string;
  now?: () => Date;
}

export interface ImportResult {
  certificate: CertificateInfo;
  /** Where the key came from: left waiting by `cert csr`, or inside the imported file. */
  key: "waiting-in-store" | "from-file" | "already-in-store";
  alreadyInStore: boolean;
  warnings: string[];
}

/**
 * Import a certificate: an issued one (DER, PEM or PKCS#7 with chain) paired with the key its CSR
 * left in the store, or a PFX/PEM carrying its own key. Everything is checked before anything is
 * written: unreadable file, wrong password, key mismatch, non-RSA or small key, expiry (needs force).
 */
export async function importCertificate(options: ImportOptions): Promise<ImportResult> {
  const now = options.now ?? (() => new Date());
  const passwordHint =
    options.passwordHint ?? "Set EXO_CERTIFICATE_PASSWORD or pass --password-file with the file's password.";
  const data = await readFileBytes(options.path);
  const material = readCertificateMaterial(data, options.path, {
    ...(options.password !== undefined ? { password: options.password } : {}),
    passwordHint,
  });
  if (material.certificates.length === 0) {
    throw new UsageError(`${options.path} holds no certificate.`, {
      hint: "A key alone cannot be imported; give the certificate (with its key in the same file, or issued for a `cert csr`).",
    });
  }
  const store = await CertStore.open(options.home, options.env, { now });
  const warnings: string[] = [];
  let keySource: ImportResult["key"];
  let picked: ReturnType<typeof pickLeaf>;
  if (material.key) {
    const fileKeyId = keyIdOf(material.key);
    picked = pickLeaf(material.certificates, (id) => id === fileKeyId);
    if (!picked) {
      throw new UsageError(`The private key in ${options.path} does not belong to any certificate in it.`, {
        hint: "Check that the certificate and the key are from the same pair (compare `openssl x509 -modulus` and `openssl rsa -modulus`).",
      });
    }
    keySource = (await store.hasKey(fileKeyId)) ? "already-in-store" : "from-file";
  } else {
    const waiting = new Set<string>();
    for (const der of material.certificates) {
      const id = parseCertificate(der).keyId;
      if (await store.hasKey(id)) waiting.add(id);
    }
    picked = pickLeaf(material.certificates, (id) => waiting.has(id));
    if (!picked) {
      throw new UsageError(
        `The private key of the certificate in ${options.path} is not in the local store.`,
        {
          hint: "Import the certificate together with its key (a PFX, or PEM with the key), or import the certificate issued for a request made with `exo-cba cert csr` on this machine.",
        },
      );
    }
    keySource = "waiting-in-store";
  }
  const leaf = picked.parsed;
  assertUsableKey(leaf, `The certificate ${leaf.thumbprint}`);
  const current = now();
  if (leaf.notAfter.getTime() <= current.getTime()) {
    if (!options.force) {
      throw new UsageError(`The certificate ${leaf.thumbprint} expired on ${leaf.notAfter.toISOString()}.`, {
        hint: "Entra refuses expired certificates. Add --force to import it anyway.",
      });
    }
    warnings.push(
      `The certificate ${leaf.thumbprint} expired on ${leaf.notAfter.toISOString()}; imported because of --force.`,
    );
  } else if (leaf.notBefore.getTime() > current.getTime()) {
    warnings.push(`The certificate ${leaf.thumbprint} is not valid before ${leaf.notBefore.toISOString()}.`);
  }
  // Key first, certificate last; a certificate already stored without its key gets the key back.
  if (material.key && keySource === "from-file") await store.saveKey(material.key);
  if (await store.hasCertificate(leaf.thumbprint)) {
    // Checked, not assumed: loading verifies that the stored key is this certificate's (a planted key fails).
    await store.credential(leaf.thumbprint);
    return { certificate: await store.get(leaf.thumbprint), key: keySource, alreadyInStore: true, warnings };
  }
  const origin: CertificateOrigin =
    keySource === "waiting-in-store" ? (leaf.selfSigned ? "self-signed" : "ca") : "imported";
  const friendlyName = options.friendlyName ?? material.friendlyName;
  const certificate = await store.addCertificate({
    certificateDer: picked.leaf,
    chainDer: picked.chain,
    origin,
    ...(friendlyName ? { friendlyName } : {}),
  });
  return { certificate, key: keySource, alreadyInStore: false, warnings };
}
