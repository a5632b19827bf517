import {
  EXCHANGE_MANAGE_AS_APP,
  EXCHANGE_MANAGE_AS_APP_ROLE_ID,
  findRole,
  roleByTemplateId,
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

export async function runDoctor(deps: DoctorDeps): Promise<CheckResult[]> {
  const now = deps.now ?? (() => new Date());
  const warnDays = deps.warnDays ?? 30;
  const log = deps.logger ?? nullLogger;
  const results: CheckResult[] = [];
  const add = (check: string, status: CheckStatus, detail: string, fix?: string) => {
    results.push(fix ? { check, status, detail, fix } : { check, status, detail });
  };
  const profileFlag = deps.profile ? ` --profile ${deps.profile.name}` : "";

  // ---------------------------------------------------------------- local certificate
  const local = await deps.inspectCertificate();
  if (!local.found) {
    add(
      CHECKS.certificate,
      "fail",
      `${local.reference}: ${local.problem ?? "not found"}`,
      "Import the certificate with its key (`exo-cba cert import FILE.pfx`), or create and register a new one with `exo-cba cert rotate" +
        `${profileFlag}\`.`,
    );
  } else {
    add(CHECKS.certificate, "ok", `${local.thumbprint}${local.subject ? ` (${local.subject})` : ""}`);
  }

  if (local.found) {
    if (!local.hasKey) {
      add(
        CHECKS.key,
        "fail",
        local.problem ?? "the private key is missing",
        "Import the PFX (or PEM with the key) of this certificate again: `exo-cba cert import FILE`.",
      );
    } else if (local.keyMatches === false) {
      add(
        CHECKS.key,
        "fail",
        "the private key does not belong to this certificate",
        "The key file was replaced or mixed up. Import the certificate's own PFX again (`exo-cba cert import FILE`), or rotate to a new certificate (`exo-cba cert rotate" +
          `${profileFlag}\`).`,
      );
    } else if (!local.credential) {
      add(
        CHECKS.key,
        "fail",
        local.problem ?? "the private key cannot be used",
        "See the detail; fix it and run doctor again.",
      );
    } else {
      add(CHECKS.key, "ok", "present and matches the certificate");
    }

    if (local.keyFileMode === undefined) {
      add(
        CHECKS.keyFile,
        "skip",
        local.keyFile ? "not applicable on this OS (rely on the profile ACL)" : "no key file",
      );
    } else if ((local.keyFileMode & 0o077) !== 0) {
      add(
        CHECKS.keyFile,
        "fail",
        `${local.keyFile} is ${octal(local.keyFileMode)}: other users can read the private key`,
        `chmod 600 ${local.keyFile}  (and chmod 700 on its directory); run the job as the user that owns it.`,
      );
    } else {
      add(CHECKS.keyFile, "ok", `${local.keyFile} is ${octal(local.keyFileMode)}`);
    }

    if (local.notAfter) {
      const msLeft = local.notAfter.getTime() - now().getTime();
      const daysLeft = Math.floor(msLeft / DAY_MS);
      const until = local.notAfter.toISOString().slice(0, 10);
      if (msLeft <= 0) {
        add(
          CHECKS.validity,
          "fail",
          `expired on ${until}`,
          `Rotate now: \`exo-cba cert rotate${profileFlag}\` (needs an admin token, EXO_ADMIN_ACCESS_TOKEN, because an expired certificate cannot prove itself).`,
        );
      } else if (daysLeft < warnDays) {
        add(
          CHECKS.validity,
          "warn",
          `${daysLeft} days left (until ${until})`,
          `Rotate before it expires: \`exo-cba cert rotate${profileFlag}\` (add --self to do it without an admin).`,
        );
      } else {
        add(CHECKS.validity, "ok", `${daysLeft} days left (until ${until})`);
      }
    }
  }
  if (!local.found) {
    for (const check of [CHECKS.key, CHECKS.keyFile, CHECKS.validity]) add(check, "skip", "no certificate");
  }

  // ---------------------------------------------------------------- fresh token (also tells us about the app)
  let token: string | undefined;
  let tokenError: unknown;
  if (local.credential) {
    try {
      token = await deps.acquireToken(local.credential);
    } catch (error) {
      tokenError = error;
    }
  }
  const aadsts = tokenError instanceof AuthenticationError ? tokenError.aadstsCode : undefined;
  const rights = token ? tokenRights(token) : undefined;

  // ---------------------------------------------------------------- app, key on the app, consent, role
  let servicePrincipal: ServicePrincipal | undefined;
  let directoryRoles: string[] | undefined;
  let consentGranted: boolean | undefined;
  let directoryRead = false;
  if (deps.directory) {
    const dir = deps.directory;
    const mark = results.length;
    try {
      const app = await dir.findApplicationByAppId(deps.appId);
      if (!app) {
        add(
          CHECKS.app,
          "fail",
          `no application with app id ${deps.appId} in ${deps.organization}`,
          "The app was deleted or the app id / organization is wrong. Run `exo-cba setup` to create it again (or restore it from the Entra recycle bin within 30 days).",
        );
        add(CHECKS.appKey, "skip", "no app");
      } else {
        add(CHECKS.app, "ok", `${app.displayName ?? app.appId} (object id ${app.id})`);
        if (local.thumbprint) {
          const keys = await dir.getKeyCredentials(app.id);
          const key = findKey(keys, local.thumbprint);
          if (!key) {
            add(
              CHECKS.appKey,
              "fail",
              `${local.thumbprint} is not registered on the app (it holds ${keys.length} other key${keys.length === 1 ? "" : "s"})`,
              `Register it again: \`exo-cba setup --certificate-thumbprint ${local.thumbprint}${profileFlag}\`, or rotate to a new certificate with \`exo-cba cert rotate${profileFlag}\`.`,
            );
          } else if (key.endDateTime && Date.parse(key.endDateTime) <= now().getTime()) {
            add(
              CHECKS.appKey,
              "fail",
              `registered, but its registration ended on ${key.endDateTime.slice(0, 10)}`,
              `Rotate: \`exo-cba cert rotate${profileFlag}\`.`,
            );
          } else {
            add(CHECKS.appKey, "ok", `registered (key id ${key.keyId ?? "?"})`);
          }
        } else {
          add(CHECKS.appKey, "skip", "no local certificate to look for");
        }
      }
      servicePrincipal = app ? await dir.findServicePrincipalByAppId(deps.appId) : undefined;
      if (app && !servicePrincipal) {
        add(
          CHECKS.consent,
          "fail",
          "the app has no service principal in this tenant",
          "Run `exo-cba setup` again: it creates the service principal, grants consent and assigns the role.",
        );
        add(CHECKS.role, "skip", "no service principal");
      } else if (servicePrincipal) {
        const grants = await dir.listAppRoleAssignments(servicePrincipal.id);
        consentGranted = grants.some((g) => g.appRoleId.toLowerCase() === EXCHANGE_MANAGE_AS_APP_ROLE_ID);
        if (consentGranted) add(CHECKS.consent, "ok", "admin consent granted (app role assignment present)");
        else
          add(
            CHECKS.consent,
            "fail",
            "Exchange.ManageAsApp is not granted to the app",
            "Grant admin consent again: `exo-cba setup" +
              `${profileFlag}\` (or Entra admin center → App registrations → API permissions → Grant admin consent).`,
          );
        const assignments = await dir.listRoleAssignments(servicePrincipal.id);
        directoryRoles = assignments.map((a) => a.roleDefinitionId.toLowerCase());
        roleResult(add, directoryRoles, deps.profile, profileFlag, "directory");
      } else {
        add(CHECKS.consent, "skip", "no app");
        add(CHECKS.role, "skip", "no app");
      }
      directoryRead = true;
    } catch (error) {
      // A bad or under-privileged admin token must not hide what the token endpoint can still tell us.
      results.splice(mark);
      consentGranted = undefined;
      directoryRoles = undefined;
      add(
        CHECKS.directory,
        "warn",
        `could not read the directory with EXO_ADMIN_ACCESS_TOKEN: ${(error as Error).message}`,
        "The admin token may be expired or lack Application.Read.All / RoleManagement.Read.Directory; get a fresh one, or unset it to let doctor infer from the app's own token.",
      );
    }
  }
  if (directoryRead) {
    // app, key, consent and role were read from the directory above
  } else if (!local.credential) {
    for (const check of [CHECKS.app, CHECKS.appKey, CHECKS.consent, CHECKS.role]) {
      add(check, "skip", "no usable local certificate to ask the token endpoint with");
    }
  } else {
    // Inferred from the token endpoint's answer and the fresh token's claims.
    if (aadsts === 700016) {
      add(
        CHECKS.app,
        "fail",
        `the token endpoint does not know app id ${deps.appId} in ${deps.organization} (AADSTS700016)`,
        "The app was deleted or the app id / organization is wrong. Run `exo-cba setup` to create it again.",
      );
    } else if (token || aadsts === 700027) {
      add(
        CHECKS.app,
        "ok",
        "the token endpoint knows the app (inferred; set EXO_ADMIN_ACCESS_TOKEN to read it)",
      );
    } else {
      add(CHECKS.app, "skip", "the token request failed for another reason (see fresh token)");
    }
    if (aadsts === 700027) {
      add(
        CHECKS.appKey,
        "fail",
        `${local.thumbprint} is not registered on the app (AADSTS700027)`,
        `Register it again with an admin (\`EXO_ADMIN_ACCESS_TOKEN=… exo-cba setup --certificate-thumbprint ${local.thumbprint}${profileFlag}\`), or rotate with \`exo-cba cert rotate${profileFlag}\`.`,
      );
    } else if (token) {
      add(CHECKS.appKey, "ok", "the token endpoint accepted it (inferred)");
    } else {
      add(CHECKS.appKey, "skip", "no token");
    }
    if (rights?.readable) {
      consentGranted = rights.hasManageAsApp;
      if (rights.hasManageAsApp) add(CHECKS.consent, "ok", "the token carries Exchange.ManageAsApp");
      else
        add(
          CHECKS.consent,
          "fail",
          "the token does not carry Exchange.ManageAsApp: the permission is not consented",
          "Grant admin consent: `exo-cba setup" +
            `${profileFlag}\` with an admin, or Entra admin center → API permissions → Grant admin consent.`,
        );
      directoryRoles = rights.wids.map((w) => w.toLowerCase());
      roleResult(add, directoryRoles, deps.profile, profileFlag, "token");
    } else {
      add(CHECKS.consent, "skip", token ? "the token is opaque" : "no token");
      add(CHECKS.role, "skip", token ? "the token is opaque" : "no token");
    }
  }

  // ---------------------------------------------------------------- the fresh token itself
  if (!local.credential) {
    add(CHECKS.token, "skip", "no usable local certificate");
  } else if (tokenError) {
    const e = tokenError as Error;
    add(
      CHECKS.token,
      "fail",
      e.message,
      tokenError instanceof ExoCbaError && tokenError.hint ? tokenError.hint : "See the detail above.",
    );
  } else if (rights?.readable) {
    const roles = rights.exchangeRoles.length ? rights.exchangeRoles.join(", ") : "no supported role";
    const detail = `roles: ${rights.roles.join(", ") || "none"}; directory role: ${roles}`;
    const missing = [
      !rights.hasManageAsApp && EXCHANGE_MANAGE_AS_APP,
      rights.exchangeRoles.length === 0 && "a directory role",
    ].filter(Boolean);
    if (missing.length === 0) add(CHECKS.token, "ok", detail);
    else {
      // The directory says granted but the token does not have it yet: replication, not a misconfiguration.
      const granted = deps.directory && consentGranted !== false && (directoryRoles?.length ?? 0) > 0;
      add(
        CHECKS.token,
        granted ? "warn" : "fail",
        `${detail} — missing ${missing.join(" and ")}`,
        granted
          ? "Granted in the directory but not in tokens yet: replication takes minutes, sometimes up to an hour. Run doctor again later."
          : "Fix the consent / role checks above; new tokens carry the change after replication.",
      );
    }
  } else {
    add(CHECKS.token, "ok", "token issued (opaque, claims not readable)");
  }

  // ---------------------------------------------------------------- a live cmdlet
  if (!local.credential || tokenError) {
    add(CHECKS.exchange, "skip", "no token");
  } else {
    try {
      const rows = await deps.invoke(local.credential, "Get-OrganizationConfig");
      const name = (rows[0] as { Name?: string; Identity?: string } | undefined)?.Name;
      add(CHECKS.exchange, "ok", `Exchange answered${name ? ` (organization ${name})` : ""}`);
    } catch (error) {
      const e = error as Error;
      const hint = error instanceof ExoCbaError ? error.hint : undefined;
      const propagating = error instanceof AuthorizationError && error.reason === "propagating";
      add(
        CHECKS.exchange,
        propagating ? "warn" : "fail",
        e.message,
        hint ?? "See the detail; `exo-cba test --debug` shows the whole exchange.",
      );
    }
  }
  // ---------------------------------------------------------------- a key kept by an earlier rotation
  const previous = deps.profile?.previousThumbprint;
  if (previous) {
    const until = deps.profile?.keepOldUntil;
    if (until && Date.parse(until) <= now().getTime()) {
      add(
        CHECKS.previous,
        "warn",
        `${previous} is still meant to be on the app, and its keep-old date ${until} has passed`,
        `Once no machine uses it: \`exo-cba cert revoke ${previous}${profileFlag}\`.`,
      );
    } else {
      add(
        CHECKS.previous,
        "ok",
        `${previous} kept on the app${until ? ` until ${until}` : ""} by an earlier rotation`,
      );
    }
  }

  for (const r of results) log.event("doctor.check", { check: r.check, status: r.status, detail: r.detail });
  return results;
}

function roleResult(
  add: (check: string, status: CheckStatus, detail: string, fix?: string) => void,
  templateIds: string[],
  profile: Profile | undefined,
  profileFlag: string,
  source: "directory" | "token",
) {
  const supported = templateIds.map(roleByTemplateId).filter((r) => r !== undefined);
  const names = supported.map((r) => r.displayName);
  const from = source === "token" ? " (from the token)" : "";
  if (supported.length === 0) {
    add(
      CHECKS.role,
      "fail",
      `no directory role Exchange accepts for app-only access is assigned${from}`,
      `Assign one, least privilege first: \`exo-cba setup --role global-reader${profileFlag}\` for reports, exchange-recipient-administrator to change mailboxes.`,
    );
    return;
  }
  const intended = profile?.role ? findRole(profile.role) : undefined;
  const intendedReadOnly = intended?.readOnly === true;
  const writeRoles = supported.filter((r) => !r.readOnly);
  const detail = `${names.join(", ")}${from}`;
  if (supported.some((r) => r.name === "global-administrator")) {
    add(
      CHECKS.role,
      "warn",
      `${detail}: Global Administrator can change anything in the tenant`,
      `Use the least privilege that works: ${READ_ONLY_ADVICE} for reports, Exchange Recipient Administrator or Exchange Administrator for changes; then remove Global Administrator from the app.`,
    );
  } else if (intendedReadOnly && writeRoles.length > 0) {
    add(
      CHECKS.role,
      "warn",
      `${detail}: broader than this profile's role (${intended!.displayName})`,
      `The profile is read-only; remove ${writeRoles.map((r) => r.displayName).join(", ")} from the app and keep ${intended!.displayName}.`,
    );
  } else if (writeRoles.some((r) => r.name === "exchange-administrator")) {
    add(
      CHECKS.role,
      "ok",
      `${detail} (if this app only runs reports, ${READ_ONLY_ADVICE} is enough: \`exo-cba setup --role global-reader${profileFlag}\`)`,
    );
  } else {
    add(CHECKS.role, "ok", detail);
  }
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

export const hasFailure = (results: CheckResult[]) => results.some((r) => r.status === "fail");
