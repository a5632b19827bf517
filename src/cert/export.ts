import { createPrivateKey } from "node:crypto";
import { UsageError } from "../errors.js";
import { writeFileAtomic } from "../util/fs.js";
import { certificatePemToDer, joinPem, parsePemBlocks } from "./pem.js";
import { buildPfx } from "./pfx.js";
import { CertStore } from "./store.js";
import type { CertificateCredential } from "./types.js";

/**
 * A PFX of a credential that Windows `Import-PfxCertificate` and `Connect-ExchangeOnline
 * -CertificateFilePath/-CertificatePassword` accept: AES-256/SHA-256 by default, `legacy` 3DES with
 * an SHA-1 MAC for Windows Server 2016 and older.
 */
export async function exportPfx(
  credential: CertificateCredential,
  options: { password: string; legacy?: boolean; friendlyName?: string },
): Promise<Uint8Array> {
  if (!options.password) {
    throw new UsageError("A PFX needs a password.", {
      hint: "Set EXO_CERTIFICATE_PASSWORD or pass --password-file FILE (never the password itself on the command line).",
    });
  }
  const chainDer = (credential.chainPem ?? []).flatMap((pem) =>
    parsePemBlocks(pem)
      .filter((b) => b.label === "CERTIFICATE")
      .map((b) => b.der),
  );
  return buildPfx({
    certificateDer: certificatePemToDer(credential.certificatePem),
    chainDer,
    privateKey: createPrivateKey(credential.privateKeyPem),
    password: options.password,
    ...(options.friendlyName ? { friendlyName: options.friendlyName } : {}),
    legacy: Boolean(options.legacy),
  });
}

export type ExportFormat = "pfx" | "cer" | "pem";

export interface ExportOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  thumbprint: string;
  format: ExportFormat;
  path: string;
  /** PFX only. */
  password?: string;
  legacy?: boolean;
}

/** Write a store certificate as PFX (key included, 0600), CER (public DER) or PEM (cert + key, 0600). */
export async function exportCertificate(options: ExportOptions) {
  const store = await CertStore.open(options.home, options.env);
  const info = await store.get(options.thumbprint);
  if (options.format === "cer") {
    const pem = await store.certificatePem(info.thumbprint);
    await writeFileAtomic(options.path, certificatePemToDer(pem), { mode: 0o644 });
  } else {
    if (options.format === "pfx" && !options.password) {
      throw new UsageError("A PFX needs a password.", {
        hint: "Set EXO_CERTIFICATE_PASSWORD or pass --password-file FILE (never the password itself on the command line).",
      });
    }
    const credential = await store.credential(info.thumbprint);
    if (options.format === "pfx") {
      const pfx = await exportPfx(credential, {
        password: options.password!,
        legacy: Boolean(options.legacy),
        ...(info.friendlyName ? { friendlyName: info.friendlyName } : {}),
      });
      await writeFileAtomic(options.path, pfx, { mode: 0o600 });
    } else {
      const pem = joinPem(
        credential.certificatePem,
        ...(credential.chainPem ?? []),
        credential.privateKeyPem,
      );
      await writeFileAtomic(options.path, pem, { mode: 0o600 });
    }
  }
  return {
    thumbprint: info.thumbprint,
    format: options.format,
    path: options.path,
    ...(options.format === "pfx"
      ? { encryption: options.legacy ? "3DES/SHA-1 (legacy)" : "AES-256/SHA-256" }
      : {}),
    containsPrivateKey: options.format !== "cer",
  };
}
