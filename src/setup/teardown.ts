import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { type AdminSession, assertTokenTenant, resolveTenantId, signInAdmin } from "../auth/admin.js";
import { EXCHANGE_MANAGE_AS_APP_ROLE_ID, EXCHANGE_RESOURCE_APP_ID } from "../auth/roles.js";
import { type CloudEndpoints, resolveEndpoints } from "../cloud/environments.js";
import { homePaths, stateHome } from "../config/home.js";
import { findProfile, type Profile, readProfiles, removeProfile } from "../config/profiles.js";
import { validateOrganization } from "../config/validate.js";
import { UsageError } from "../errors.js";
import { GraphClient } from "../graph/client.js";
import { DirectoryApi } from "../graph/directory.js";
import { GraphError } from "../graph/errors.js";
import { HttpTransport } from "../http/transport.js";
import { type Journal, JournalWriter, readJournal } from "./journal.js";
import { DEFAULT_APP_NAME, type SetupOptions, uniqueNameFor } from "./setup.js";
import { adminRightsError } from "./steps.js";

/**
 * Remove what setup created — role assignments, the consent, the service principal, the application —
 * and, on request, the local certificate; then the profile. Shows the plan first; safe to re-run.
 * The Office 365 Exchange Online service principal is never removed: other apps depend on it.
 */
export interface TeardownOptions
  extends Pick<
    SetupOptions,
    "home" | "env" | "endpoints" | "transport" | "signIn" | "admin" | "onGraphResponse" | "appName"
  > {
  /** Profile saved by setup (default: the default profile, unless `organization` is given). */
  profile?: string;
  /** Find the app by its deterministic uniqueName instead of a profile. */
  organization?: string;
  removeCertificate?: boolean;
  dryRun?: boolean;
  confirm?: (plan: TeardownItem[]) => Promise<boolean>;
  progress?: (line: string) => void;
}

export interface TeardownItem {
  what: "role-assignment" | "consent" | "service-principal" | "application" | "certificate" | "profile";
  id: string;
  detail: string;
  /** Filled in after applying. */
  result?: "removed" | "already-gone";
}

export interface TeardownResult {
  status: "nothing-found" | "planned" | "cancelled" | "removed";
  organization?: string;
  appId?: string;
  plan: TeardownItem[];
  message: string;
}

interface Target {
  organization: string;
  profile?: Profile;
  profileName?: string;
  appName: string;
  journal?: Journal;
}

async function journalForProfile(home: string, profileName: string): Promise<Journal | undefined> {
  let names: string[];
  try {
    names = await readdir(homePaths(home).journals);
  } catch {
    return undefined;
  }
  for (const name of names.filter((n) => n.startsWith("setup-") && n.endsWith(".json"))) {
    try {
      const j = JSON.parse(await readFile(join(homePaths(home).journals, name), "utf8")) as Journal;
      if (j.ids?.profile === profileName) return j;
    } catch {
      // ignore damaged journals
    }
  }
  return undefined;
}

async function resolveTarget(
  options: TeardownOptions,
  home: string,
  env: NodeJS.ProcessEnv,
): Promise<Target | string> {
  const appName = options.appName ?? DEFAULT_APP_NAME;
  const profileName = options.profile ?? (options.organization ? undefined : env.EXO_PROFILE || undefined);
  if (profileName) {
    const file = await readProfiles(home);
    const profile = file.profiles[profileName];
    if (profile) return { organization: profile.organization, profile, profileName, appName };
    const journal = await journalForProfile(home, profileName);
    if (journal?.status === "torn-down") {
      return `Nothing to tear down: profile '${profileName}' was already removed (${journal.organization}, ${journal.updatedAt}).`;
    }
    if (!options.organization) {
      await findProfile(home, profileName); // throws the standard "no profile named" UsageError
    }
  }
  if (options.organization) {
    return { organization: validateOrganization(options.organization), appName };
  }
  const profile = await findProfile(home);
  if (!profile) {
    throw new UsageError("Nothing says which app to remove.", {
      hint: "Pass --profile NAME (see profiles.json in the state home) or --organization ORG [--app-name N].",
    });
  }
  return { organization: profile.organization, profile, profileName: profile.name, appName };
}

export async function teardownExchangeApp(options: TeardownOptions): Promise<TeardownResult> {
  const env = options.env ?? process.env;
  const home = options.home ?? stateHome(env);
  const say = options.progress ?? (() => {});
  const target = await resolveTarget(options, home, env);
  if (typeof target === "string") return { status: "nothing-found", plan: [], message: target };

  const endpoints: CloudEndpoints =
    options.endpoints ??
    (env.EXO_ENVIRONMENT
      ? resolveEndpoints(env.EXO_ENVIRONMENT, env)
      : resolveEndpoints(target.profile?.environment, env, target.profile?.endpoints));
  const ownTransport = !options.transport;
  const transport = options.transport ?? new HttpTransport({ env: options.env ?? process.env });
  try {
    const tenantId =
      target.profile?.tenantId ?? (await resolveTenantId(endpoints, target.organization, transport));
    const uniqueName = uniqueNameFor(target.appName, tenantId);
    const journal = await readJournal(home, uniqueName);
    const admin: AdminSession =
      options.admin ??
      (await signInAdmin({
        endpoints,
        organization: target.organization,
        transport,
        ...options.signIn,
        ...(options.signIn?.accessToken === undefined && env.EXO_ADMIN_ACCESS_TOKEN
          ? { accessToken: env.EXO_ADMIN_ACCESS_TOKEN }
          : {}),
      }));
    assertTokenTenant(await admin.getToken(), tenantId, target.organization);
    const api = new DirectoryApi(
      new GraphClient({
        endpoint: endpoints.graphEndpoint,
        transport,
        getToken: () => admin.getToken(),
        ...(options.onGraphResponse ? { onResponse: options.onGraphResponse } : {}),
      }),
    );

    const plan: TeardownItem[] = [];
    const app = await readAs("read applications", () =>
      target.profile
        ? api.findApplicationByAppId(target.profile.appId)
        : api.findApplicationByUniqueName(uniqueName),
    );
    const appId = target.profile?.appId ?? app?.appId;
    const sp = appId
      ? await readAs("read service principals", () => api.findServicePrincipalByAppId(appId))
      : undefined;
    if (sp) {
      const roles = await readAs("read role assignments", () => api.listRoleAssignments(sp.id));
      for (const r of roles) {
        plan.push({
          what: "role-assignment",
          id: r.id,
          detail: `directory role ${r.roleDefinitionId} of the app`,
        });
      }
      const exo = await readAs("read service principals", () =>
        api.findServicePrincipalByAppId(EXCHANGE_RESOURCE_APP_ID),
      );
      const grants = await readAs("read app role assignments", () => api.listAppRoleAssignments(sp.id));
      for (const g of grants.filter(
        (g) => g.appRoleId === EXCHANGE_MANAGE_AS_APP_ROLE_ID && (!exo || g.resourceId === exo.id),
      )) {
        plan.push({ what: "consent", id: g.id, detail: "Exchange.ManageAsApp consent" });
      }
      plan.push({ what: "service-principal", id: sp.id, detail: `service principal of ${sp.appId}` });
    }
    if (app)
      plan.push({
        what: "application",
        id: app.id,
        detail: `application ${app.appId} (${app.displayName ?? ""})`,
      });
    const thumbprint = target.profile?.certificateThumbprint ?? journal?.ids.certificateThumbprint;
    if (options.removeCertificate && thumbprint) {
      const { CertStore } = await import("../cert/store.js");
      const store = await CertStore.open(home, env);
      if (await store.hasCertificate(thumbprint)) {
        plan.push({ what: "certificate", id: thumbprint, detail: "certificate and key in the local store" });
      }
    }
    if (target.profileName && target.profile) {
      plan.push({ what: "profile", id: target.profileName, detail: "saved profile" });
    }

    const base = { organization: target.organization, ...(appId ? { appId } : {}), plan };
    if (plan.length === 0) {
      return {
        ...base,
        status: "nothing-found",
        message: `Nothing to tear down: no app '${target.appName}' in ${target.organization}.`,
      };
    }
    if (options.dryRun)
      return { ...base, status: "planned", message: `${plan.length} item(s) would be removed.` };
    if (options.confirm && !(await options.confirm(plan))) {
      return { ...base, status: "cancelled", message: "Teardown cancelled; nothing was removed." };
    }

    for (const item of plan) {
      item.result = await removeItem(item, api, sp?.id, { home, env });
      say(`${item.result === "removed" ? "removed" : "already gone"}: ${item.what} ${item.id}`);
    }
    if (journal) {
      const writer = await JournalWriter.start(home, uniqueName, target.organization, tenantId);
      await writer.finish("torn-down");
    }
    return {
      ...base,
      status: "removed",
      message: `Removed ${plan.length} item(s) from ${target.organization}.`,
    };
  } finally {
    if (ownTransport) transport.close();
  }
}

async function readAs<T>(doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw adminRightsError(error, "application", doing);
  }
}

async function removeItem(
  item: TeardownItem,
  api: DirectoryApi,
  spId: string | undefined,
  local: { home: string; env: NodeJS.ProcessEnv },
): Promise<"removed" | "already-gone"> {
  const gone404 = async (task: "role" | "consent" | "application", fn: () => Promise<void>) => {
    try {
      await fn();
      return "removed" as const;
    } catch (error) {
      // Deleted by someone else, or by a previous interrupted run: the goal is reached.
      if (error instanceof GraphError && error.status === 404) return "already-gone" as const;
      throw adminRightsError(error, task, `remove the ${item.what.replace("-", " ")}`);
    }
  };
  switch (item.what) {
    case "role-assignment":
      return gone404("role", () => api.deleteRoleAssignment(item.id));
    case "consent":
      return gone404("consent", () => api.deleteAppRoleAssignment(spId as string, item.id));
    case "service-principal":
      return gone404("application", () => api.deleteServicePrincipal(item.id));
    case "application":
      return gone404("application", () => api.deleteApplication(item.id));
    case "certificate": {
      const { CertStore } = await import("../cert/store.js");
      const store = await CertStore.open(local.home, local.env);
      if (!(await store.hasCertificate(item.id))) return "already-gone";
      await store.remove(item.id);
      return "removed";
    }
    case "profile":
      return (await removeProfile(local.home, item.id)) ? "removed" : "already-gone";
  }
}
