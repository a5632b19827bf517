import { rm } from "node:fs/promises";
import { UsageError } from "../errors.js";
import { outputFileError, writeFileAtomic } from "../util/fs.js";
import { generateRsaKeyPair } from "./keys.js";
import { BACKDATE_MS, validateDnsName, validateSubject } from "./names.js";
import { toPem } from "./pem.js";
import { CertStore } from "./store.js";
import type { CertificateInfo } from "./types.js";

export interface CreateSelfSignedOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  dnsName: string;
  friendlyName?: string;
  /** Validity in years (default 1); give either this or `notAfter`. */
  years?: number;
  notAfter?: Date;
  keySize?: number;
  /** Where to write the public certificate (DER) for upload to Entra. */
  cerPath?: string;
  now?: () => Date;
}

/** Compute the validity window, refusing what Entra or common sense would refuse. */
export function validityWindow(now: Date, options: { years?: number; notAfter?: Date }) {
  if (options.years !== undefined && options.notAfter !== undefined) {
    throw new UsageError("Give either --years or --not-after, not both.");
  }
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  let notAfter: Date;
  if (options.notAfter !== undefined) {
    if (Number.isNaN(options.notAfter.getTime())) {
      throw new UsageError("The --not-after date is not a date.", { hint: "Use ISO form, e.g. 2027-06-30." });
    }
    notAfter = options.notAfter;
  } else {
    const years = options.years ?? 1;
    if (!Number.isInteger(years) || years < 1 || years > 50) {
      throw new UsageError(`--years must be a whole number from 1 to 50, not ${years}.`);
    }
    notAfter = new Date(now);
    notAfter.setUTCFullYear(notAfter.getUTCFullYear() + years);
  }
  if (notAfter.getTime() <= now.getTime()) {
    throw new UsageError(`The end date ${notAfter.toISOString()} is not in the future.`);
  }
  return { notBefore, notAfter };
}

/**
 * `New-SelfSignedCertificate` + `Export-Certificate`: a self-signed RSA certificate for app-only
 * sign-in, stored with its key in the local store, the public part written as a .cer for upload.
 */
export async function createSelfSignedCertificate(
  options: CreateSelfSignedOptions,
): Promise<CertificateInfo & { certificatePem: string; cerPath?: string }> {
  const now = options.now ?? (() => new Date());
  const dnsName = validateDnsName(options.dnsName);
  const { notBefore, notAfter } = validityWindow(now(), options);
  const keys = await generateRsaKeyPair(options.keySize ?? 2048);
  const { buildSelfSignedCertificate } = await import("./build.js");
  const der = await buildSelfSignedCertificate({ dnsName, keys: keys.cryptoKeys, notBefore, notAfter });

  // The .cer first: an unwritable --cer-path stops here with nothing stored, so a re-run does not make
  // a second certificate. Should storing then fail, the .cer is taken back.
  if (options.cerPath) {
    try {
      // Public data; readable by others is fine and expected (it is uploaded to the portal).
      await writeFileAtomic(options.cerPath, der, { mode: 0o644, createParents: false });
    } catch (error) {
      throw outputFileError(
        "the certificate file (--cer-path)",
        options.cerPath,
        error,
        "Give a --cer-path in an existing, writable folder. Nothing was stored; run the command again.",
      );
    }
  }
  const store = await CertStore.open(options.home, options.env, { now });
  let info: CertificateInfo;
  try {
    await store.saveKey(keys.privateKey);
    info = await store.addCertificate({
      certificateDer: der,
      origin: "self-signed",
      ...(options.friendlyName ? { friendlyName: options.friendlyName } : {}),
    });
  } catch (error) {
    if (options.cerPath) await rm(options.cerPath, { force: true });
    throw error;
  }
  const result: CertificateInfo & { certificatePem: string; cerPath?: string } = {
    ...info,
    certificatePem: toPem("CERTIFICATE", der),
  };
  if (options.cerPath) result.cerPath = options.cerPath;
  return result;
}

export interface CreateRequestOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  dnsName: string;
  /** Distinguished name; default `CN=<dnsName>`. */
  subject?: string;
  keySize?: number;
  /** Where to write the PKCS#10 request (PEM). */
  outPath: string;
}

/** A PKCS#10 request for an internal CA; the key waits in the store until `importCertificate` pairs it. */
export async function createCertificateRequest(options: CreateRequestOptions) {
  const dnsName = validateDnsName(options.dnsName);
  const subject = validateSubject(options.subject ?? `CN=${dnsName}`);
  const keys = await generateRsaKeyPair(options.keySize ?? 2048);
  const { buildCertificateRequest } = await import("./build.js");
  const csrPem = await buildCertificateRequest({ dnsName, subject, keys: keys.cryptoKeys });
  const store = await CertStore.open(options.home, options.env);
  const keyId = await store.saveKey(keys.privateKey);
  await writeFileAtomic(options.outPath, csrPem, { mode: 0o644 });
  return { subject, dnsName, keyId, outPath: options.outPath, csrPem };
}
