/**
 * `report usage --vb365-*`: the backup side's flags, the one sign-in per VB365 server, and the checks
 * made before the (long) Exchange half starts (docs/vb365.md, docs/report.md "Backup coverage").
 */
import type { ResolvedConnection } from "../../../config/connection.js";
import type { Profile } from "../../../config/profiles.js";
import { UsageError } from "../../../errors.js";
import type { TenantTarget } from "../../../report/usage-report.js";
import type { Vb365Client } from "../../../vb365/client.js";
import { type CliContext, note } from "../../context.js";
import { option, type Parsed } from "../../define-command.js";
import { flag, negatable, number, text } from "../../option-schemas.js";

export const vb365Options = {
  vb365Server: option(
    "--vb365-server <url>",
    "VB365 REST server, e.g. https://vb365:4443: adds the backup side [VB365_SERVER]",
    text(),
  ),
  vb365Username: option(
    "--vb365-username <name>",
    "VB365 user, e.g. DOMAIN\\\\svc-report [VB365_USERNAME]",
    text(),
  ),
  vb365PasswordFile: option(
    "--vb365-password-file <file>",
    "file whose first line is the VB365 password (or set VB365_PASSWORD)",
    text(),
  ),
  vb365Organization: option(
    "--vb365-organization <name|id>",
    "VB365 organization (default: the one whose msid is the tenant id) [VB365_ORGANIZATION]",
    text(),
  ),
  vb365Repository: option(
    "--vb365-repository <names>",
    "repositories to count, comma separated (default: all the organization uses)",
    text(),
  ),
  vb365CaFile: option(
    "--vb365-ca-file <file>",
    "PEM certificate (or CA) to trust for the VB365 server",
    text(),
  ),
  vb365CertificateFingerprint: option(
    "--vb365-certificate-fingerprint <sha256>",
    "trust exactly the VB365 server certificate with this SHA-256 fingerprint",
    text(),
  ),
  staleDays: option(
    "--stale-days <n>",
    "a protected mailbox whose last backup is older than this is stale",
    number({ integer: false, positive: true, max: 3650, unit: "days" }),
    { default: "2" },
  ),
  vb365SaveProfile: option(
    "--vb365-save-profile",
    "remember the VB365 server, user, organization and trust in the profile",
    flag(),
  ),
  vb365: option("--no-vb365", "ignore the VB365 settings saved in the profile", negatable()),
};

/** The VB365 flags as parsed (any may be missing: the tests and library callers pass only some). */
export type Vb365Flags = Partial<Parsed<typeof vb365Options>>;

export interface Vb365Settings {
  server: string;
  username: string | undefined;
  organization: string | undefined;
  repositories: string[] | undefined;
  certificateFingerprint: string | undefined;
  caFile: string | undefined;
}

const given = (v: string | undefined) => (v !== undefined && v.trim() !== "" ? v.trim() : undefined);
const list = (v: string | undefined) =>
  v
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** Flags, then VB365_* variables, then the profile's saved settings; undefined when no server is named. */
export function vb365SettingsFrom(
  opts: Vb365Flags,
  env: NodeJS.ProcessEnv,
  profile: Profile | undefined,
): Vb365Settings | undefined {
  if (opts.vb365 === false) return undefined;
  const saved = profile?.vb365;
  const flagServer = given(opts.vb365Server) ?? given(env.VB365_SERVER);
  const server = flagServer ?? saved?.server;
  if (!server) return undefined;
  const sameServer = !flagServer || flagServer === saved?.server;
  const fingerprint =
    given(opts.vb365CertificateFingerprint) ?? (sameServer ? saved?.certificateFingerprint : undefined);
  const caFile = given(opts.vb365CaFile) ?? (sameServer ? saved?.caFile : undefined);
  const explicitTrust = given(opts.vb365CertificateFingerprint) || given(opts.vb365CaFile);
  return {
    server,
    username: given(opts.vb365Username) ?? given(env.VB365_USERNAME) ?? saved?.username,
    organization: given(opts.vb365Organization) ?? given(env.VB365_ORGANIZATION) ?? saved?.organization,
    repositories: list(given(opts.vb365Repository)) ?? saved?.repositories,
    // A flag for one trust kind replaces the other kind saved in the profile.
    certificateFingerprint:
      explicitTrust && !given(opts.vb365CertificateFingerprint) ? undefined : fingerprint,
    caFile: explicitTrust && !given(opts.vb365CaFile) ? undefined : caFile,
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface BackupSessions {
  /** sign-in problems of servers that are not fatal (several tenants) */
  close(): Promise<void>;
  clients: Vb365Client[];
}

/**
 * Sign in once per (server, user) and find each tenant's organization and repositories before the run.
 * With one tenant a failure here stops the command with its own exit code (nothing is lost yet); with
 * several, that tenant's backup section says why it is missing (exit 7 at the end).
 */
export async function prepareBackup(
  entries: Array<{ target: TenantTarget; resolved: ResolvedConnection }>,
  opts: Vb365Flags,
  ctx: CliContext,
  clientOptions: { pageSize?: number } = {},
): Promise<BackupSessions> {
  const wanted = entries
    .map((e) => ({ ...e, settings: vb365SettingsFrom(opts, ctx.env, e.resolved.profile) }))
    .filter((e): e is typeof e & { settings: Vb365Settings } => e.settings !== undefined);
  const clients = new Map<string, Promise<Vb365Client>>();
  const sessions: BackupSessions = {
    clients: [],
    close: async () => {
      await Promise.all(sessions.clients.map((c) => c.logout()));
    },
  };
  if (wanted.length === 0) return sessions;
  const [{ Vb365Client }, { readCaFile }, { readPasswordFile }, backup] = await Promise.all([
    import("../../../vb365/client.js"),
    import("../../../vb365/tls.js"),
    import("../../../config/connection.js"),
    import("../../../vb365/backup.js"),
  ]);
  const passwordFile = given(opts.vb365PasswordFile);
  const password = passwordFile ? await readPasswordFile(passwordFile) : ctx.env.VB365_PASSWORD;
  const single = entries.length === 1;

  const clientFor = (s: Vb365Settings): Promise<Vb365Client> => {
    if (s.certificateFingerprint && s.caFile) {
      throw new UsageError("Give either --vb365-certificate-fingerprint or --vb365-ca-file, not both.");
    }
    const key = `${s.server.toLowerCase()}|${(s.username ?? "").toLowerCase()}`;
    let pending = clients.get(key);
    if (!pending) {
      pending = (async () => {
        const client = new Vb365Client({
          server: s.server,
          username: s.username ?? "",
          password: password ?? "",
          trust: {
            env: ctx.env,
            ...(s.caFile ? { caPem: [readCaFile(s.caFile)] } : {}),
            ...(s.certificateFingerprint ? { fingerprint: s.certificateFingerprint } : {}),
          },
          ...clientOptions,
        });
        sessions.clients.push(client);
        await client.signIn();
        return client;
      })();
      clients.set(key, pending);
    }
    return pending;
  };

  for (const { target, resolved, settings } of wanted) {
    const server = settings.server;
    try {
      const client = await clientFor(settings);
      const tenant =
        resolved.tenantId ?? (GUID.test(resolved.organization) ? resolved.organization : undefined);
      const found = await backup.resolveBackupTarget(client, {
        ...(settings.organization ? { organization: settings.organization } : {}),
        ...(tenant ? { tenantId: tenant } : {}),
        ...(GUID.test(resolved.organization) ? {} : { tenantName: resolved.organization }),
        ...(settings.repositories ? { repositories: settings.repositories } : {}),
      });
      target.backup = { server: client.origin.origin, read: () => backup.readBackupSnapshot(client, found) };
    } catch (error) {
      if (single) {
        await sessions.close();
        throw error;
      }
      const e = error instanceof Error ? error : new Error(String(error));
      note(ctx, `warning: tenant ${target.name}: the backup side is skipped: ${e.message}`);
      target.backup = { server, error: e };
    }
  }

  if (opts.vb365SaveProfile) {
    await saveSettings(wanted, ctx);
  }
  return sessions;
}

async function saveSettings(
  wanted: Array<{ resolved: ResolvedConnection; settings: Vb365Settings }>,
  ctx: CliContext,
): Promise<void> {
  const { setProfileVb365 } = await import("../../../config/profiles.js");
  for (const { resolved, settings } of wanted) {
    if (!resolved.profile) {
      note(
        ctx,
        "warning: --vb365-save-profile needs a profile (--profile NAME or a default profile); nothing saved.",
      );
      continue;
    }
    const vb365: NonNullable<Profile["vb365"]> = { server: settings.server };
    if (settings.username) vb365.username = settings.username;
    if (settings.organization) vb365.organization = settings.organization;
    if (settings.repositories) vb365.repositories = settings.repositories;
    if (settings.certificateFingerprint) vb365.certificateFingerprint = settings.certificateFingerprint;
    if (settings.caFile) vb365.caFile = settings.caFile;
    if (await setProfileVb365(resolved.home, resolved.profile.name, vb365)) {
      note(ctx, `saved the VB365 settings in profile ${resolved.profile.name}`);
    }
  }
}
