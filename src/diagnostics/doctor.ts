import {
  EXCHANGE_MANAGE_AS_APP,
  EXCHANGE_MANAGE_AS_APP_ROLE_ID,
  findRole,
  roleByTemplateId,
  type TokenRights,
  tokenRights,
} from "../auth/roles.js";
import type { Profile } from "../config/profiles.js";
import { AuthenticationError, AuthorizationError, ExoCbaError } from "../errors.js";
import { findKey } from "../graph/key-credentials.js";
import type {
  Application,
  AppRoleAssignment,
  KeyCredential,
  ServicePrincipal,
  UnifiedRoleAssignment,
} from "../graph/types.js";
import { type Logger, nullLogger } from "../log/log.js";

/**
 * `exo-cba doctor`: check every link of the chain an unattended job depends on, and say how to fix each
 * broken one. Returns the list of results; the CLI renders them and exits 8 when one failed.
 *
 *   local certificate → key → key file mode → validity → app exists → app holds the certificate →
 *   Exchange.ManageAsApp consented → directory role → a fresh token carries both → a live cmdlet works
 *
 * With an admin Graph token (EXO_ADMIN_ACCESS_TOKEN) the app, consent and role are read from the
 * directory. Without one they are inferred from what the token endpoint answers (AADSTS700016 = no such
 * app, AADSTS700027 = certificate not on the app) and from the claims of the fresh token.
 */

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface CheckResult {
  check: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

/** What the local side knows about the certificate, gathered without any network call. */
export interface LocalCertificateFacts {
  /** How the certificate is referenced: store thumbprint or file path. */
  reference: string;
  /** false when the store has no such certificate or the file cannot be read */
  found: boolean;
  /** why it was not found / could not be loaded */
  problem?: string;
  thumbprint?: string;
  subject?: string;
  notAfter?: Date;
  /** the private key is present */
  hasKey: boolean;
  /** the private key belongs to this certificate (undefined when unknown) */
  keyMatches?: boolean;
  /** path of the key (store) or of the PFX/PEM (file) */
  keyFile?: string;
  /** POSIX permission bits of keyFile, e.g. 0o600 (undefined on Windows) */
  keyFileMode?: number;
  /** loaded and usable: what token requests are signed with */
  credential?: { certificatePem: string; privateKeyPem: string };
}

/** The directory reads doctor makes with an admin token (a subset of DirectoryApi). */
export interface DirectoryReader {
  findApplicationByAppId(appId: string): Promise<Application | undefined>;
  getKeyCredentials(applicationId: string): Promise<KeyCredential[]>;
  findServicePrincipalByAppId(appId: string): Promise<ServicePrincipal | undefined>;
  listAppRoleAssignments(servicePrincipalId: string): Promise<AppRoleAssignment[]>;
  listRoleAssignments(principalId: string): Promise<UnifiedRoleAssignment[]>;
}

export interface DoctorDeps {
  appId: string;
  organization: string;
  profile?: Profile;
  /** Warn when fewer days are left (default 30). */
  warnDays?: number;
  now?: () => Date;
  inspectCertificate(): Promise<LocalCertificateFacts>;
  /** A fresh (uncached) app-only Exchange token signed with this credential. */
  acquireToken(credential: { certificatePem: string; privateKeyPem: string }): Promise<string>;
  /** Run a harmless cmdlet with this credential. */
  invoke(credential: { certificatePem: string; privateKeyPem: string }, cmdlet: string): Promise<unknown[]>;
  directory?: DirectoryReader;
  logger?: Logger;
}

export const CHECKS = {
  certificate: "certificate in the local store",
  key: "private key",
  keyFile: "key file permissions",
  validity: "certificate validity",
  app: "app registration",
  appKey: "certificate on the app",
  consent: "Exchange.ManageAsApp consent",
  role: "directory role",
  token: "fresh token",
  directory: "admin directory read",
  previous: "previous certificate",
  exchange: "live cmdlet (Get-OrganizationConfig)",
} as const;

const DAY_MS = 86_400_000;
const READ_ONLY_ADVICE = "Global Reader";

/**
 * What the checks share: the inputs, the facts gathered once before any check runs (the local
 * certificate, one fresh token), and what the app checks learn for the token check after them.
 */
export interface DoctorRun {
  deps: DoctorDeps;
  now: () => Date;
  warnDays: number;
  /** ` --profile NAME` for the fixes, or "" */
  profileFlag: string;
  local: LocalCertificateFacts;
  token?: string;
  tokenError?: unknown;
  rights?: TokenRights;
  /** Whether Exchange.ManageAsApp is granted, once the app checks know (directory or token). */
  consentGranted?: boolean;
  /** The app's directory role template ids (lower case), once the app checks know. */
  directoryRoles?: string[];
}

/** One named validator: looks at the run's facts and reports zero or more check results. */
export interface DoctorCheck {
  name: string;
  run(run: DoctorRun): CheckResult[] | Promise<CheckResult[]>;
}

const result = (check: string, status: CheckStatus, detail: string, fix?: string): CheckResult =>
  fix ? { check, status, detail, fix } : { check, status, detail };

/** Inspect the local certificate and ask for one fresh token with it: the facts every check reads. */
export async function gatherFacts(deps: DoctorDeps): Promise<DoctorRun> {
  const run: DoctorRun = {
    deps,
    now: deps.now ?? (() => new Date()),
    warnDays: deps.warnDays ?? 30,
    profileFlag: deps.profile ? ` --profile ${deps.profile.name}` : "",
    local: await deps.inspectCertificate(),
  };
  if (run.local.credential) {
    try {
      run.token = await deps.acquireToken(run.local.credential);
    } catch (error) {
      run.tokenError = error;
    }
  }
  if (run.token) run.rights = tokenRights(run.token);
  return run;
}

export function certificateCheck({ local, profileFlag }: DoctorRun): CheckResult[] {
  if (local.found) {
    return [
      result(CHECKS.certificate, "ok", `${local.thumbprint}${local.subject ? ` (${local.subject})` : ""}`),
    ];
  }
  return [
    result(
      CHECKS.certificate,
      "fail",
      `${local.reference}: ${local.problem ?? "not found"}`,
      "Import the certificate with its key (`exo-cba cert import FILE.pfx`), or create and register a new one with `exo-cba cert rotate" +
        `${profileFlag}\`.`,
    ),
  ];
}

export function keyCheck({ local, profileFlag }: DoctorRun): CheckResult[] {
  if (!local.found) return [result(CHECKS.key, "skip", "no certificate")];
  if (!local.hasKey) {
    return [
      result(
        CHECKS.key,
        "fail",
        local.problem ?? "the private key is missing",
        "Import the PFX (or PEM with the key) of this certificate again: `exo-cba cert import FILE`.",
      ),
    ];
  }
  if (local.keyMatches === false) {
    return [
      result(
        CHECKS.key,
        "fail",
        "the private key does not belong to this certificate",
        "The key file was replaced or mixed up. Import the certificate's own PFX again (`exo-cba cert import FILE`), or rotate to a new certificate (`exo-cba cert rotate" +
          `${profileFlag}\`).`,
      ),
    ];
  }
  if (!local.credential) {
    return [
      result(
        CHECKS.key,
        "fail",
        local.problem ?? "the private key cannot be used",
        "See the detail; fix it and run doctor again.",
      ),
    ];
  }
  return [result(CHECKS.key, "ok", "present and matches the certificate")];
}

export function keyFileCheck({ local }: DoctorRun): CheckResult[] {
  if (!local.found) return [result(CHECKS.keyFile, "skip", "no certificate")];
  if (local.keyFileMode === undefined) {
    return [
      result(
        CHECKS.keyFile,
        "skip",
        local.keyFile ? "not applicable on this OS (rely on the profile ACL)" : "no key file",
      ),
    ];
  }
  if ((local.keyFileMode & 0o077) !== 0) {
    return [
      result(
        CHECKS.keyFile,
        "fail",
        `${local.keyFile} is ${octal(local.keyFileMode)}: other users can read the private key`,
        `chmod 600 ${local.keyFile}  (and chmod 700 on its directory); run the job as the user that owns it.`,
      ),
    ];
  }
  return [result(CHECKS.keyFile, "ok", `${local.keyFile} is ${octal(local.keyFileMode)}`)];
}

export function validityCheck({ local, now, warnDays, profileFlag }: DoctorRun): CheckResult[] {
  if (!local.found) return [result(CHECKS.validity, "skip", "no certificate")];
  if (!local.notAfter) return [];
  const msLeft = local.notAfter.getTime() - now().getTime();
  const daysLeft = Math.floor(msLeft / DAY_MS);
  const until = local.notAfter.toISOString().slice(0, 10);
  if (msLeft <= 0) {
    return [
      result(
        CHECKS.validity,
        "fail",
        `expired on ${until}`,
        `Rotate now: \`exo-cba cert rotate${profileFlag}\` (needs an admin token, EXO_ADMIN_ACCESS_TOKEN, because an expired certificate cannot prove itself).`,
      ),
    ];
  }
  if (daysLeft < warnDays) {
    return [
      result(
        CHECKS.validity,
        "warn",
        `${daysLeft} days left (until ${until})`,
        `Rotate before it expires: \`exo-cba cert rotate${profileFlag}\` (add --self to do it without an admin).`,
      ),
    ];
  }
  return [result(CHECKS.validity, "ok", `${daysLeft} days left (until ${until})`)];
}

/**
 * App, certificate on the app, consent and role: read from the directory with an admin token; when there
 * is none, or the read fails (a warning then), inferred from the token endpoint's answer and the token.
 */
export async function appChecks(run: DoctorRun): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  if (run.deps.directory) {
    try {
      return await directoryChecks(run, run.deps.directory);
    } catch (error) {
      // A bad or under-privileged admin token must not hide what the token endpoint can still tell us.
      run.consentGranted = undefined;
      run.directoryRoles = undefined;
      out.push(
        result(
          CHECKS.directory,
          "warn",
          `could not read the directory with EXO_ADMIN_ACCESS_TOKEN: ${(error as Error).message}`,
          "The admin token may be expired or lack Application.Read.All / RoleManagement.Read.Directory; get a fresh one, or unset it to let doctor infer from the app's own token.",
        ),
      );
    }
  }
  if (!run.local.credential) {
    for (const check of [CHECKS.app, CHECKS.appKey, CHECKS.consent, CHECKS.role]) {
      out.push(result(check, "skip", "no usable local certificate to ask the token endpoint with"));
    }
    return out;
  }
  return [...out, ...inferredAppChecks(run)];
}

/** The app's links read from the directory (throws when a read fails). */
export async function directoryChecks(run: DoctorRun, dir: DirectoryReader): Promise<CheckResult[]> {
  const { deps, local, profileFlag } = run;
  const out: CheckResult[] = [];
  const app = await dir.findApplicationByAppId(deps.appId);
  if (!app) {
    out.push(
      result(
        CHECKS.app,
        "fail",
        `no application with app id ${deps.appId} in ${deps.organization}`,
        "The app was deleted or the app id / organization is wrong. Run `exo-cba setup` to create it again (or restore it from the Entra recycle bin within 30 days).",
      ),
      result(CHECKS.appKey, "skip", "no app"),
    );
  } else {
    out.push(result(CHECKS.app, "ok", `${app.displayName ?? app.appId} (object id ${app.id})`));
    out.push(
      local.thumbprint
        ? await appKeyCheck(run, dir, app.id, local.thumbprint)
        : result(CHECKS.appKey, "skip", "no local certificate to look for"),
    );
  }
  const servicePrincipal = app ? await dir.findServicePrincipalByAppId(deps.appId) : undefined;
  if (app && !servicePrincipal) {
    out.push(
      result(
        CHECKS.consent,
        "fail",
        "the app has no service principal in this tenant",
        "Run `exo-cba setup` again: it creates the service principal, grants consent and assigns the role.",
      ),
      result(CHECKS.role, "skip", "no service principal"),
    );
  } else if (servicePrincipal) {
    const grants = await dir.listAppRoleAssignments(servicePrincipal.id);
    run.consentGranted = grants.some((g) => g.appRoleId.toLowerCase() === EXCHANGE_MANAGE_AS_APP_ROLE_ID);
    out.push(
      run.consentGranted
        ? result(CHECKS.consent, "ok", "admin consent granted (app role assignment present)")
        : result(
            CHECKS.consent,
            "fail",
            "Exchange.ManageAsApp is not granted to the app",
            "Grant admin consent again: `exo-cba setup" +
              `${profileFlag}\` (or Entra admin center → App registrations → API permissions → Grant admin consent).`,
          ),
    );
    const assignments = await dir.listRoleAssignments(servicePrincipal.id);
    run.directoryRoles = assignments.map((a) => a.roleDefinitionId.toLowerCase());
    out.push(roleCheck(run.directoryRoles, deps.profile, profileFlag, "directory"));
  } else {
    out.push(result(CHECKS.consent, "skip", "no app"), result(CHECKS.role, "skip", "no app"));
  }
  return out;
}

async function appKeyCheck(
  { now, profileFlag }: DoctorRun,
  dir: DirectoryReader,
  applicationId: string,
  thumbprint: string,
): Promise<CheckResult> {
  const keys = await dir.getKeyCredentials(applicationId);
  const key = findKey(keys, thumbprint);
  if (!key) {
    return result(
      CHECKS.appKey,
      "fail",
      `${thumbprint} is not registered on the app (it holds ${keys.length} other key${keys.length === 1 ? "" : "s"})`,
      `Register it again: \`exo-cba setup --certificate-thumbprint ${thumbprint}${profileFlag}\`, or rotate to a new certificate with \`exo-cba cert rotate${profileFlag}\`.`,
    );
  }
  if (key.endDateTime && Date.parse(key.endDateTime) <= now().getTime()) {
    return result(
      CHECKS.appKey,
      "fail",
      `registered, but its registration ended on ${key.endDateTime.slice(0, 10)}`,
      `Rotate: \`exo-cba cert rotate${profileFlag}\`.`,
    );
  }
  return result(CHECKS.appKey, "ok", `registered (key id ${key.keyId ?? "?"})`);
}

/** The app's links inferred from the token endpoint's answer (AADSTS code) and the fresh token's claims. */
export function inferredAppChecks(run: DoctorRun): CheckResult[] {
  const { deps, local, token, rights, profileFlag } = run;
  const aadsts = run.tokenError instanceof AuthenticationError ? run.tokenError.aadstsCode : undefined;
  const out: CheckResult[] = [];
  if (aadsts === 700016) {
    out.push(
      result(
        CHECKS.app,
        "fail",
        `the token endpoint does not know app id ${deps.appId} in ${deps.organization} (AADSTS700016)`,
        "The app was deleted or the app id / organization is wrong. Run `exo-cba setup` to create it again.",
      ),
    );
  } else if (token || aadsts === 700027) {
    out.push(
      result(
        CHECKS.app,
        "ok",
        "the token endpoint knows the app (inferred; set EXO_ADMIN_ACCESS_TOKEN to read it)",
      ),
    );
  } else {
    out.push(result(CHECKS.app, "skip", "the token request failed for another reason (see fresh token)"));
  }
  if (aadsts === 700027) {
    out.push(
      result(
        CHECKS.appKey,
        "fail",
        `${local.thumbprint} is not registered on the app (AADSTS700027)`,
        `Register it again with an admin (\`EXO_ADMIN_ACCESS_TOKEN=… exo-cba setup --certificate-thumbprint ${local.thumbprint}${profileFlag}\`), or rotate with \`exo-cba cert rotate${profileFlag}\`.`,
      ),
    );
  } else if (token) {
    out.push(result(CHECKS.appKey, "ok", "the token endpoint accepted it (inferred)"));
  } else {
    out.push(result(CHECKS.appKey, "skip", "no token"));
  }
  if (rights?.readable) {
    run.consentGranted = rights.hasManageAsApp;
    out.push(
      rights.hasManageAsApp
        ? result(CHECKS.consent, "ok", "the token carries Exchange.ManageAsApp")
        : result(
            CHECKS.consent,
            "fail",
            "the token does not carry Exchange.ManageAsApp: the permission is not consented",
            "Grant admin consent: `exo-cba setup" +
              `${profileFlag}\` with an admin, or Entra admin center → API permissions → Grant admin consent.`,
          ),
    );
    run.directoryRoles = rights.wids.map((w) => w.toLowerCase());
    out.push(roleCheck(run.directoryRoles, deps.profile, profileFlag, "token"));
  } else {
    const why = token ? "the token is opaque" : "no token";
    out.push(result(CHECKS.consent, "skip", why), result(CHECKS.role, "skip", why));
  }
  return out;
}

/** The fresh token itself: issued, and carrying the permission and a role. */
export function freshTokenCheck(run: DoctorRun): CheckResult[] {
  const { local, tokenError, rights } = run;
  if (!local.credential) return [result(CHECKS.token, "skip", "no usable local certificate")];
  if (tokenError) {
    const e = tokenError as Error;
    return [
      result(
        CHECKS.token,
        "fail",
        e.message,
        tokenError instanceof ExoCbaError && tokenError.hint ? tokenError.hint : "See the detail above.",
      ),
    ];
  }
  if (!rights?.readable) return [result(CHECKS.token, "ok", "token issued (opaque, claims not readable)")];
  const roles = rights.exchangeRoles.length ? rights.exchangeRoles.join(", ") : "no supported role";
  const detail = `roles: ${rights.roles.join(", ") || "none"}; directory role: ${roles}`;
  const missing = [
    !rights.hasManageAsApp && EXCHANGE_MANAGE_AS_APP,
    rights.exchangeRoles.length === 0 && "a directory role",
  ].filter(Boolean);
  if (missing.length === 0) return [result(CHECKS.token, "ok", detail)];
  // The directory says granted but the token does not have it yet: replication, not a misconfiguration.
  const granted = run.deps.directory && run.consentGranted !== false && (run.directoryRoles?.length ?? 0) > 0;
  return [
    result(
      CHECKS.token,
      granted ? "warn" : "fail",
      `${detail} — missing ${missing.join(" and ")}`,
      granted
        ? "Granted in the directory but not in tokens yet: replication takes minutes, sometimes up to an hour. Run doctor again later."
        : "Fix the consent / role checks above; new tokens carry the change after replication.",
    ),
  ];
}

/** A harmless live cmdlet (Get-OrganizationConfig) with the local certificate. */
export async function liveCmdletCheck({ deps, local, tokenError }: DoctorRun): Promise<CheckResult[]> {
  if (!local.credential || tokenError) return [result(CHECKS.exchange, "skip", "no token")];
  try {
    const rows = await deps.invoke(local.credential, "Get-OrganizationConfig");
    const name = (rows[0] as { Name?: string; Identity?: string } | undefined)?.Name;
    return [result(CHECKS.exchange, "ok", `Exchange answered${name ? ` (organization ${name})` : ""}`)];
  } catch (error) {
    const e = error as Error;
    const hint = error instanceof ExoCbaError ? error.hint : undefined;
    const propagating = error instanceof AuthorizationError && error.reason === "propagating";
    return [
      result(
        CHECKS.exchange,
        propagating ? "warn" : "fail",
        e.message,
        hint ?? "See the detail; `exo-cba test --debug` shows the whole exchange.",
      ),
    ];
  }
}

/** A key an earlier rotation kept on the app: still wanted, or past its keep-old date. */
export function previousCertificateCheck({ deps, now, profileFlag }: DoctorRun): CheckResult[] {
  const previous = deps.profile?.previousThumbprint;
  if (!previous) return [];
  const until = deps.profile?.keepOldUntil;
  if (until && Date.parse(until) <= now().getTime()) {
    return [
      result(
        CHECKS.previous,
        "warn",
        `${previous} is still meant to be on the app, and its keep-old date ${until} has passed`,
        `Once no machine uses it: \`exo-cba cert revoke ${previous}${profileFlag}\`.`,
      ),
    ];
  }
  return [
    result(
      CHECKS.previous,
      "ok",
      `${previous} kept on the app${until ? ` until ${until}` : ""} by an earlier rotation`,
    ),
  ];
}

/**
 * The validators in the order doctor reports them, like `flutter doctor`'s: each is a small function of
 * the run's facts, testable alone. The app checks come before the token check, which reads what they found.
 */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  { name: CHECKS.certificate, run: certificateCheck },
  { name: CHECKS.key, run: keyCheck },
  { name: CHECKS.keyFile, run: keyFileCheck },
  { name: CHECKS.validity, run: validityCheck },
  { name: "app, certificate on the app, consent, role", run: appChecks },
  { name: CHECKS.token, run: freshTokenCheck },
  { name: CHECKS.exchange, run: liveCmdletCheck },
  { name: CHECKS.previous, run: previousCertificateCheck },
];

export async function runDoctor(deps: DoctorDeps): Promise<CheckResult[]> {
  const log = deps.logger ?? nullLogger;
  const run = await gatherFacts(deps);
  const results: CheckResult[] = [];
  for (const check of DOCTOR_CHECKS) results.push(...(await check.run(run)));
  for (const r of results) log.event("doctor.check", { check: r.check, status: r.status, detail: r.detail });
  return results;
}

/** The app's directory roles: one Exchange accepts, least privilege, and the profile's intended role. */
export function roleCheck(
  templateIds: string[],
  profile: Profile | undefined,
  profileFlag: string,
  source: "directory" | "token",
): CheckResult {
  const supported = templateIds.map(roleByTemplateId).filter((r) => r !== undefined);
  const names = supported.map((r) => r.displayName);
  const from = source === "token" ? " (from the token)" : "";
  if (supported.length === 0) {
    return result(
      CHECKS.role,
      "fail",
      `no directory role Exchange accepts for app-only access is assigned${from}`,
      `Assign one, least privilege first: \`exo-cba setup --role global-reader${profileFlag}\` for reports, exchange-recipient-administrator to change mailboxes.`,
    );
  }
  const intended = profile?.role ? findRole(profile.role) : undefined;
  const intendedReadOnly = intended?.readOnly === true;
  const writeRoles = supported.filter((r) => !r.readOnly);
  const detail = `${names.join(", ")}${from}`;
  if (supported.some((r) => r.name === "global-administrator")) {
    return result(
      CHECKS.role,
      "warn",
      `${detail}: Global Administrator can change anything in the tenant`,
      `Use the least privilege that works: ${READ_ONLY_ADVICE} for reports, Exchange Recipient Administrator or Exchange Administrator for changes; then remove Global Administrator from the app.`,
    );
  }
  if (intendedReadOnly && writeRoles.length > 0) {
    return result(
      CHECKS.role,
      "warn",
      `${detail}: broader than this profile's role (${intended!.displayName})`,
      `The profile is read-only; remove ${writeRoles.map((r) => r.displayName).join(", ")} from the app and keep ${intended!.displayName}.`,
    );
  }
  if (writeRoles.some((r) => r.name === "exchange-administrator")) {
    return result(
      CHECKS.role,
      "ok",
      `${detail} (if this app only runs reports, ${READ_ONLY_ADVICE} is enough: \`exo-cba setup --role global-reader${profileFlag}\`)`,
    );
  }
  return result(CHECKS.role, "ok", detail);
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

export const hasFailure = (results: CheckResult[]) => results.some((r) => r.status === "fail");
