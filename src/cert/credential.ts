import type { KeyObject } from "node:crypto";
import type { CertificateReference } from "../config/connection.js";
import { UsageError } from "../errors.js";
import { assertUsableKey, keyIdOf, rsaBits, withPrivateKey } from "./keys.js";
import { toPem } from "./pem.js";
import { CertStore } from "./store.js";
import type { CertificateCredential } from "./types.js";

const FILE_PASSWORD_HINT =
  "Set EXO_CERTIFICATE_PASSWORD (or AZURE_CLIENT_CERTIFICATE_PASSWORD), or pass --certificate-password-file FILE.";

/**
 * The certificate and decrypted key that sign client assertions, from the local store (thumbprint)
 * or from a file (PFX, or PEM with certificate and key). Errors are UsageErrors with hints.
 */
export async function loadCertificateCredential(
  ref: CertificateReference,
  options: { home: string; env?: NodeJS.ProcessEnv },
): Promise<CertificateCredential> {
  if (ref.kind === "thumbprint") {
    const store = await CertStore.open(options.home, options.env ?? process.env);
    const credential = await store.credential(ref.thumbprint);
    // The store has checked that the key is the certificate's: its size is the certificate's key size.
    assertUsableKey(rsaBits(credential.privateKey as KeyObject), `The certificate ${credential.thumbprint}`);
    return credential;
  }
  const { pickLeaf, readCertificateMaterial, readFileBytes } = await import("./source.js");
  const data = await readFileBytes(ref.path);
  const material = readCertificateMaterial(data, ref.path, {
    ...(ref.password !== undefined ? { password: ref.password } : {}),
    passwordHint: FILE_PASSWORD_HINT,
  });
  if (!material.key) {
    throw new UsageError(`${ref.path} holds no private key.`, {
      hint: "Give a PFX, or a PEM file with both the certificate and its private key (`exo-cba cert export --pem`).",
    });
  }
  const keyId = keyIdOf(material.key);
  const picked = pickLeaf(material.certificates, (id) => id === keyId);
  if (!picked) {
    throw new UsageError(
      material.certificates.length
        ? `The private key in ${ref.path} does not match its certificate.`
        : `${ref.path} holds a private key but no certificate.`,
      { hint: "The file must hold a certificate and the private key of that same certificate." },
    );
  }
  assertUsableKey(picked.parsed, `The certificate in ${ref.path}`);
  const credential: CertificateCredential = withPrivateKey(
    {
      certificatePem: toPem("CERTIFICATE", picked.leaf),
      thumbprint: picked.parsed.thumbprint,
      thumbprintSha256: picked.parsed.thumbprintSha256,
      notBefore: picked.parsed.notBefore,
      notAfter: picked.parsed.notAfter,
      subject: picked.parsed.subject,
    },
    material.key,
  );
  if (picked.chain.length) credential.chainPem = picked.chain.map((der) => toPem("CERTIFICATE", der));
  return credential;
}
