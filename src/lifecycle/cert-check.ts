import { CertStore, loadCertificateCredential } from "../cert/index.js";
import { readProfiles } from "../config/profiles.js";
import { ExoCbaError } from "../errors.js";

/**
 * `exo-cba cert check`: are the certificates in use about to expire? Offline (no network call), so it can
 * run from cron every day on every machine. Looks at the certificates the profiles use, or at the whole
 * local store when there is no profile.
 */

export type CertCheckStatus = "ok" | "expiring" | "expired" | "missing" | "no-key" | "unreadable";

export interface CertCheckRow {
  profile?: string;
  thumbprint?: string;
  file?: string;
  subject?: string;
  notAfter?: string;
  daysLeft?: number;
  status: CertCheckStatus;
  detail: string;
}

export interface CertCheckOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  /** Expiring = fewer days left than this (default 30). */
  warnDays?: number;
  /** Only this profile. */
  profile?: string;
  now?: () => Date;
}

export const isCertProblem = (row: CertCheckRow) => row.status !== "ok";

const DAY_MS = 86_400_000;

function judge(notAfter: Date, now: Date, warnDays: number) {
  const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  if (notAfter.getTime() <= now.getTime()) {
    return {
      daysLeft,
      status: "expired" as const,
      detail: `expired on ${notAfter.toISOString().slice(0, 10)}`,
    };
  }
  if (daysLeft < warnDays) {
    return {
      daysLeft,
      status: "expiring" as const,
      detail: `expires in ${daysLeft} day${daysLeft === 1 ? "" : "s"} (${notAfter.toISOString().slice(0, 10)})`,
    };
  }
  return { daysLeft, status: "ok" as const, detail: `${daysLeft} days left` };
}

export async function checkCertificates(options: CertCheckOptions): Promise<CertCheckRow[]> {
  const env = options.env ?? process.env;
  const now = options.now ?? (() => new Date());
  const warnDays = options.warnDays ?? 30;
  const store = await CertStore.open(options.home, env, { now });
  const file = await readProfiles(options.home);
  let profiles = Object.values(file.profiles);
  if (options.profile) profiles = profiles.filter((p) => p.name === options.profile);
  const rows: CertCheckRow[] = [];

  const fromStore = async (thumbprint: string, profile?: string) => {
    const base: CertCheckRow = { ...(profile ? { profile } : {}), thumbprint, status: "missing", detail: "" };
    if (!(await store.hasCertificate(thumbprint))) {
      rows.push({
        ...base,
        status: "missing",
        detail: "not in the local store: this machine cannot sign in with it",
      });
      return;
    }
    const info = await store.get(thumbprint);
    const verdict = judge(info.notAfter, now(), warnDays);
    const row: CertCheckRow = {
      ...base,
      subject: info.subject,
      notAfter: info.notAfter.toISOString(),
      daysLeft: verdict.daysLeft,
      status: verdict.status,
      detail: verdict.detail,
    };
    if (!info.hasKey && verdict.status !== "expired") {
      row.status = "no-key";
      row.detail = `${verdict.detail}; its private key is not in the store`;
    }
    rows.push(row);
  };

  if (Object.keys(file.profiles).length === 0) {
    for (const info of await store.list()) await fromStore(info.thumbprint);
    return rows;
  }
  for (const profile of profiles) {
    if (profile.certificateThumbprint) {
      await fromStore(profile.certificateThumbprint.toUpperCase(), profile.name);
    } else if (profile.certificateFilePath) {
      const password = env.EXO_CERTIFICATE_PASSWORD || env.AZURE_CLIENT_CERTIFICATE_PASSWORD || undefined;
      try {
        const credential = await loadCertificateCredential(
          {
            kind: "file",
            path: profile.certificateFilePath,
            ...(password !== undefined ? { password } : {}),
          },
          { home: options.home, env },
        );
        const verdict = judge(credential.notAfter, now(), warnDays);
        rows.push({
          profile: profile.name,
          thumbprint: credential.thumbprint,
          file: profile.certificateFilePath,
          subject: credential.subject,
          notAfter: credential.notAfter.toISOString(),
          daysLeft: verdict.daysLeft,
          status: verdict.status,
          detail: verdict.detail,
        });
      } catch (error) {
        if (!(error instanceof ExoCbaError)) throw error;
        rows.push({
          profile: profile.name,
          file: profile.certificateFilePath,
          status: "unreadable",
          detail: error.message,
        });
      }
    } else {
      rows.push({ profile: profile.name, status: "missing", detail: "the profile names no certificate" });
    }
  }
  return rows;
}

/** One line per problem, for the CLI's stderr and the CheckFailedError message. */
export function certProblemLine(row: CertCheckRow): string {
  const who = [row.profile && `profile ${row.profile}`, row.thumbprint ?? row.file]
    .filter(Boolean)
    .join(", ");
  return `${row.status.toUpperCase()}: ${who}: ${row.detail}`;
}
