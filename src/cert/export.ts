import { createPrivateKey } from "node:crypto";
import { UsageError } from "../errors.js";
import { fileExists, outputFileError, writeFileAtomic } from "../util/fs.js";
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
  /** Replace an existing file (`--force`); without it an existing file is refused. */
  force?: boolean;
}

/**
 * Write one export file: never over an existing file unless `force`, never into a folder that does not
 * exist (no folders are made for a mistyped path); each refusal is exit 2 with a hint.
 */
async function writeExport(options: ExportOptions, data: string | Uint8Array, mode: number): Promise<void> {
  if (!options.force && (await fileExists(options.path))) {
    throw new UsageError(`${options.path} already exists; not overwriting it.`, {
      hint: "Choose another file name, or add --force to replace it.",
    });
  }
  try {
    await writeFileAtomic(options.path, data, { mode, createParents: false });
  } catch (error) {
    throw outputFileError(
      "the export file",
      options.path,
      error,
      "Give a path in an existing, writable folder (exo-cba does not create folders for an export).",
    );
  }
}

/** Write a store certificate as PFX (key included, 0600), CER (public DER) or PEM (cert + key, 0600). */
export async function exportCertificate(options: ExportOptions) {
  const store = await CertStore.open(options.home, options.env);
  const info = await store.get(options.thumbprint);
  if (options.format === "cer") {
    const pem = await store.certificatePem(info.thumbprint);
    await writeExport(options, certificatePemToDer(pem), 0o644);
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
      await writeExport(options, pfx, 0o600);
    } else {
      const pem = joinPem(
        credential.certificatePem,
        ...(credential.chainPem ?? []),
        credential.privateKeyPem,
      );
      await writeExport(options, pem, 0o600);
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
