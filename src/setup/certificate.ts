import { isGuid } from "../config/validate.js";
import { UsageError } from "../errors.js";

/**
 * Which certificate setup registers: one from the local store (`--certificate-thumbprint`), one from a
 * file (`--certificate-file-path`), the one a previous run used (so a re-run never adds a second key),
 * or a new self-signed one, created only when the plan is applied (never by `--dry-run`).
 */
export type CertificateChoice = { thumbprint: string } | { path: string; password?: string };

/** A certificate with everything setup needs; `privateKeyPem` is absent for a public-only .cer file. */
export interface SetupCredential {
  thumbprint: string;
  certificatePem: string;
  privateKeyPem?: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

export type ResolvedCertificate =
  | { kind: "existing"; origin: "store" | "file" | "previous-run"; credential: SetupCredential }
  | { kind: "new"; dnsName: string; create: () => Promise<SetupCredential> };

export interface ResolveCertificateOptions {
  choice?: CertificateChoice;
  /** Thumbprints used by earlier runs for the same app (profile, journal); the first usable one wins. */
  previousThumbprints?: string[];
  home: string;
  env: NodeJS.ProcessEnv;
  organization: string;
  appName: string;
  years?: number;
}

/** Same rule as `cert new`: the organization's domain, or a name derived from the app for a tenant id. */
export function dnsNameFor(organization: string, appName: string): string {
  if (!isGuid(organization)) return organization;
  const label =
    appName
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "") || "exo-cba";
  return `${label}.${organization}.invalid`;
}

/** Clock skew tolerated for a certificate that starts "now" (made on another machine a moment ago). */
const NOT_BEFORE_SKEW_MS = 5 * 60_000;

/**
 * Refuse, before any network call, a certificate Entra ID would not accept or sign-in could not use:
 * expired, or not valid yet (the same rule as `cert import`, which however has `--force`).
 */
export function assertCurrentlyValid(credential: SetupCredential, now: Date = new Date()): void {
  if (credential.notAfter.getTime() <= now.getTime()) {
    throw new UsageError(
      `The certificate ${credential.thumbprint} expired on ${credential.notAfter.toISOString()}; Entra ID refuses expired certificates.`,
      {
        hint: "Give a current certificate, or leave out --certificate-thumbprint/--certificate-file-path and setup creates a new one.",
      },
    );
  }
  if (credential.notBefore.getTime() > now.getTime() + NOT_BEFORE_SKEW_MS) {
    throw new UsageError(
      `The certificate ${credential.thumbprint} is not valid before ${credential.notBefore.toISOString()}; sign-in with it would fail until then.`,
      {
        hint: "Give a certificate that is valid now, or run setup again after that date.",
      },
    );
  }
}

export async function resolveSetupCertificate(
  options: ResolveCertificateOptions,
): Promise<ResolvedCertificate> {
  const { CertStore } = await import("../cert/store.js");
  const store = await CertStore.open(options.home, options.env);
  const choice = options.choice;
  if (choice && "thumbprint" in choice) {
    const credential = await store.credential(choice.thumbprint);
    assertCurrentlyValid(credential);
    return { kind: "existing", origin: "store", credential };
  }
  if (choice && "path" in choice) {
    const { loadCertificateCredential } = await import("../cert/index.js");
    const ref =
      choice.password === undefined
        ? { kind: "file" as const, path: choice.path }
        : { kind: "file" as const, path: choice.path, password: choice.password };
    let credential: SetupCredential;
    try {
      credential = await loadCertificateCredential(ref, options);
    } catch (error) {
      // A public .cer (DER or PEM) is enough to register; only verification needs the key.
      if (!(error instanceof UsageError && /holds no private key/.test(error.message))) throw error;
      credential = await publicOnly(choice.path);
    }
    assertCurrentlyValid(credential);
    return { kind: "existing", origin: "file", credential };
  }
  for (const thumbprint of options.previousThumbprints ?? []) {
    if (!(await store.hasCertificate(thumbprint))) continue;
    try {
      const credential = await store.credential(thumbprint);
      if (credential.notAfter.getTime() > Date.now()) {
        return { kind: "existing", origin: "previous-run", credential };
      }
    } catch (error) {
      // The key is gone or unreadable: try the next one, else a new certificate (the plan shows it).
      if (!(error instanceof UsageError)) throw error;
    }
  }
  const dnsName = dnsNameFor(options.organization, options.appName);
  return {
    kind: "new",
    dnsName,
    create: async () => {
      const { createSelfSignedCertificate } = await import("../cert/create.js");
      const info = await createSelfSignedCertificate({
        home: options.home,
        env: options.env,
        dnsName,
        friendlyName: `exo-cba ${options.appName} (${options.organization})`,
        ...(options.years ? { years: options.years } : {}),
      });
      return store.credential(info.thumbprint);
    },
  };
}

/** A certificate without its key (a .cer exported from Windows or issued by a CA). */
async function publicOnly(path: string): Promise<SetupCredential> {
  const { readFile } = await import("node:fs/promises");
  const { parseCertificate } = await import("../cert/index.js");
  const data = await readFile(path);
  const text = data.toString("utf8");
  const block = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
  const der = block
    ? Buffer.from(block.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""), "base64")
    : data;
  const parsed = parseCertificate(der);
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n");
  return {
    thumbprint: parsed.thumbprint,
    certificatePem: `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END CERTIFICATE-----\n`,
    subject: parsed.subject,
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
  };
}
