import {
  type DirectoryRole,
  EXCHANGE_MANAGE_AS_APP,
  EXCHANGE_MANAGE_AS_APP_ROLE_ID,
  EXCHANGE_RESOURCE_APP_ID,
  roleByTemplateId,
} from "../auth/roles.js";
import { AuthorizationError, ServerError } from "../errors.js";
import type { DirectoryApi } from "../graph/directory.js";
import { GraphError } from "../graph/errors.js";
import { appendKeyCredential, keyMatchesThumbprint, newKeyCredential } from "../graph/key-credentials.js";
import { type Deadline, waitFor } from "../graph/replication.js";
import type {
  Application,
  AppRoleAssignment,
  KeyCredential,
  RequiredResourceAccess,
  ServicePrincipal,
  UnifiedRoleAssignment,
} from "../graph/types.js";
import { ADMIN_ROLE_NEEDED } from "./constants.js";
import type { JournalWriter } from "./journal.js";

/**
 * The provisioning steps (entra-provisioning.md §2): each reads the tenant, says what it would do, and
 * converges when applied — creating only what is missing, treating the documented "already exists"
 * answers as success, and waiting out replication lag between dependent writes.
 */
export const STEP_IDS = [
  "application",
  "certificate",
  "service-principal",
  "exchange-service-principal",
  "consent",
  "role",
] as const;
export type StepId = (typeof STEP_IDS)[number];

export const STEP_TITLES: Record<StepId, string> = {
  application: "application registration",
  certificate: "certificate on the application",
  "service-principal": "service principal (enterprise app)",
  "exchange-service-principal": "Office 365 Exchange Online service principal",
  consent: "admin consent for Exchange.ManageAsApp",
  role: "directory role assignment",
};

/** The public part of the certificate setup registers (the private key never leaves this machine). */
export interface SetupCertificate {
  /** SHA-1 of the DER, 40 upper-case hex. */
  thumbprint: string;
  certificatePem: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

export interface DesiredState {
  uniqueName: string;
  displayName: string;
  role: DirectoryRole;
  /** Undefined while a new certificate is still to be created (plan / dry run). */
  certificate: SetupCertificate | undefined;
  /** DNS name of the certificate that will be created when `certificate` is undefined. */
  newCertificateDnsName?: string;
}

export interface TenantState {
  application?: Application;
  keyCredentials: KeyCredential[];
  servicePrincipal?: ServicePrincipal;
  exchangeServicePrincipal?: ServicePrincipal;
  consent?: AppRoleAssignment;
  roleAssignment?: UnifiedRoleAssignment;
  /** Other directory roles the service principal already holds (left alone, shown in the plan). */
  otherRoles: string[];
}

export type PlanAction = "exists" | "create" | "update";

export interface PlanItem {
  step: StepId;
  title: string;
  action: PlanAction;
  detail: string;
  objectId?: string;
}

export interface StepProgress {
  step: StepId | "verify" | "sign-in" | "read";
  title: string;
  status: "start" | "waiting" | "done" | "failed";
  elapsedMs: number;
  detail?: string;
}

/** Ids of everything setup owns, filled in as steps complete. */
export interface ProvisionedIds {
  appObjectId?: string;
  appId?: string;
  servicePrincipalId?: string;
  exchangeServicePrincipalId?: string;
  consentId?: string;
  roleAssignmentId?: string;
}

export const exchangePermission = (): RequiredResourceAccess => ({
  resourceAppId: EXCHANGE_RESOURCE_APP_ID,
  resourceAccess: [{ id: EXCHANGE_MANAGE_AS_APP_ROLE_ID, type: "Role" }],
});

export function hasExchangePermission(app: Application): boolean {
  return (app.requiredResourceAccess ?? []).some(
    (r) =>
      r.resourceAppId === EXCHANGE_RESOURCE_APP_ID &&
      r.resourceAccess.some((a) => a.id === EXCHANGE_MANAGE_AS_APP_ROLE_ID && a.type === "Role"),
  );
}

/** Add Exchange.ManageAsApp to an app's permission list, keeping whatever else it requests. */
export function withExchangePermission(existing: RequiredResourceAccess[] = []): RequiredResourceAccess[] {
  const others = existing.filter((r) => r.resourceAppId !== EXCHANGE_RESOURCE_APP_ID);
  const exo = existing.find((r) => r.resourceAppId === EXCHANGE_RESOURCE_APP_ID);
  const access = (exo?.resourceAccess ?? []).filter((a) => a.id !== EXCHANGE_MANAGE_AS_APP_ROLE_ID);
  return [
    ...others,
    {
      resourceAppId: EXCHANGE_RESOURCE_APP_ID,
      resourceAccess: [...access, { id: EXCHANGE_MANAGE_AS_APP_ROLE_ID, type: "Role" }],
    },
  ];
}

type AdminTask = keyof typeof ADMIN_ROLE_NEEDED;

/** Graph 403 during a step → the admin lacks a role or scope: say which. */
export function adminRightsError(error: unknown, task: AdminTask, doing: string): unknown {
  if (error instanceof GraphError && error.status === 403) {
    return new AuthorizationError(`The signed-in admin is not allowed to ${doing}: ${error.graphMessage}`, {
      reason: "admin-rights",
      httpStatus: 403,
      ...(error.requestId ? { requestId: error.requestId } : {}),
      cause: error,
      hint: `This needs ${ADMIN_ROLE_NEEDED[task]} (setup as a whole needs Privileged Role Administrator + Application Administrator, or Global Administrator), and consent to the delegated scopes Application.ReadWrite.All, AppRoleAssignment.ReadWrite.All, RoleManagement.ReadWrite.Directory.`,
    });
  }
  return error;
}

async function asAdmin<T>(task: AdminTask, doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw adminRightsError(error, task, doing);
  }
}

const roleName = (templateId: string) => roleByTemplateId(templateId)?.displayName ?? templateId;

/** Read everything setup would touch, without writing. */
export async function readTenantState(api: DirectoryApi, desired: DesiredState): Promise<TenantState> {
  const state: TenantState = { keyCredentials: [], otherRoles: [] };
  await asAdmin("application", "read applications", async () => {
    state.application = await api.findApplicationByUniqueName(desired.uniqueName);
    if (state.application) state.keyCredentials = await api.getKeyCredentials(state.application.id);
  });
  await asAdmin("application", "read service principals", async () => {
    if (state.application)
      state.servicePrincipal = await api.findServicePrincipalByAppId(state.application.appId);
    state.exchangeServicePrincipal = await api.findServicePrincipalByAppId(EXCHANGE_RESOURCE_APP_ID);
  });
  const sp = state.servicePrincipal;
  if (sp) {
    await asAdmin("consent", "read app role assignments", async () => {
      const grants = await api.listAppRoleAssignments(sp.id);
      state.consent = grants.find(
        (g) =>
          g.appRoleId === EXCHANGE_MANAGE_AS_APP_ROLE_ID &&
          (!state.exchangeServicePrincipal || g.resourceId === state.exchangeServicePrincipal.id),
      );
    });
    await asAdmin("role", "read directory role assignments", async () => {
      const roles = await api.listRoleAssignments(sp.id);
      const atTenant = roles.filter((r) => (r.directoryScopeId ?? "/") === "/");
      state.roleAssignment = atTenant.find((r) => r.roleDefinitionId === desired.role.templateId);
      state.otherRoles = atTenant
        .filter((r) => r.roleDefinitionId !== desired.role.templateId)
        .map((r) => roleName(r.roleDefinitionId));
    });
  }
  return state;
}

/** What applying would do, one line per step. */
export function planFrom(state: TenantState, desired: DesiredState): PlanItem[] {
  const app = state.application;
  const item = (step: StepId, action: PlanAction, detail: string, objectId?: string): PlanItem => ({
    step,
    title: STEP_TITLES[step],
    action,
    detail,
    ...(objectId ? { objectId } : {}),
  });
  const plan: PlanItem[] = [];
  if (!app) {
    plan.push(
      item(
        "application",
        "create",
        `single-tenant app '${desired.displayName}' (uniqueName ${desired.uniqueName}) requesting Exchange.ManageAsApp`,
      ),
    );
  } else if (!hasExchangePermission(app)) {
    plan.push(
      item("application", "update", `add the Exchange.ManageAsApp permission to app ${app.appId}`, app.id),
    );
  } else {
    plan.push(item("application", "exists", `app ${app.appId} requests Exchange.ManageAsApp`, app.id));
  }
  const cert = desired.certificate;
  const ourKey = cert && state.keyCredentials.find((k) => keyMatchesThumbprint(k, cert.thumbprint));
  const others = state.keyCredentials.length - (ourKey ? 1 : 0);
  const keep = others > 0 ? `; keeps ${others} other key(s)` : "";
  const certAction: PlanAction = app ? "update" : "create";
  plan.push(
    !cert
      ? item(
          "certificate",
          certAction,
          `create a new self-signed certificate (CN=${desired.newCertificateDnsName ?? "?"}, RSA 2048) in the local store and register it${keep}`,
        )
      : ourKey
        ? item("certificate", "exists", `certificate ${cert.thumbprint} is registered${keep}`)
        : item(
            "certificate",
            certAction,
            `register certificate ${cert.thumbprint} (${cert.subject}, valid until ${cert.notAfter.toISOString().slice(0, 10)})${keep}`,
          ),
  );
  plan.push(
    state.servicePrincipal
      ? item(
          "service-principal",
          "exists",
          `service principal ${state.servicePrincipal.id}`,
          state.servicePrincipal.id,
        )
      : item("service-principal", "create", "service principal for the app"),
  );
  plan.push(
    state.exchangeServicePrincipal
      ? item(
          "exchange-service-principal",
          "exists",
          `Office 365 Exchange Online (${state.exchangeServicePrincipal.id})`,
          state.exchangeServicePrincipal.id,
        )
      : item(
          "exchange-service-principal",
          "create",
          "the tenant has no Office 365 Exchange Online service principal yet; create it",
        ),
  );
  plan.push(
    state.consent
      ? item("consent", "exists", "Exchange.ManageAsApp is granted", state.consent.id)
      : item("consent", "create", "grant Exchange.ManageAsApp (admin consent)"),
  );
  const otherRoles = state.otherRoles.length
    ? ` (also holds: ${state.otherRoles.join(", ")}; left as is)`
    : "";
  plan.push(
    state.roleAssignment
      ? item(
          "role",
          "exists",
          `${desired.role.displayName} at tenant scope${otherRoles}`,
          state.roleAssignment.id,
        )
      : item("role", "create", `assign ${desired.role.displayName} at tenant scope${otherRoles}`),
  );
  return plan;
}

export interface ApplyContext {
  api: DirectoryApi;
  desired: DesiredState;
  deadline: Deadline;
  progress: (event: StepProgress) => void;
  journal?: JournalWriter;
  /**
   * Creates the certificate when `desired.certificate` is undefined. Called inside the certificate step,
   * so an admin who cannot even create the app leaves no new key behind on this machine.
   */
  createCertificate?: () => Promise<SetupCertificate>;
  /** Clock reading that progress times are relative to (default: when applying starts). */
  startedAt?: number;
  /** Test hook: called after each step completes (throw to simulate a crash there). */
  afterStep?: (step: StepId) => void | Promise<void>;
}

/** Apply the plan in order; returns the ids of everything setup owns. */
export async function applyPlan(
  ctx: ApplyContext,
  state: TenantState,
  plan: PlanItem[],
): Promise<ProvisionedIds> {
  const ids: ProvisionedIds = {};
  const started = ctx.startedAt ?? ctx.deadline.clock.now();
  const actionOf = (step: StepId) => plan.find((p) => p.step === step)?.action ?? "create";

  const run = async (
    step: StepId,
    fn: () => Promise<{ action: "exists" | "created" | "updated"; objectId?: string }>,
  ) => {
    const elapsed = () => ctx.deadline.clock.now() - started;
    ctx.progress({ step, title: STEP_TITLES[step], status: "start", elapsedMs: elapsed() });
    try {
      const result = await fn();
      ctx.progress({
        step,
        title: STEP_TITLES[step],
        status: "done",
        elapsedMs: elapsed(),
        detail: result.action,
      });
      await ctx.journal?.step(
        step,
        { status: "done", action: result.action, ...(result.objectId ? { objectId: result.objectId } : {}) },
        Object.fromEntries(Object.entries(ids).filter(([, v]) => v !== undefined)) as Record<string, string>,
      );
    } catch (error) {
      ctx.progress({
        step,
        title: STEP_TITLES[step],
        status: "failed",
        elapsedMs: elapsed(),
        detail: (error as Error).message,
      });
      await ctx.journal?.step(step, { status: "failed", action: "exists", error: (error as Error).message });
      throw error;
    }
    await ctx.afterStep?.(step);
  };
  const waitOpts = (step: StepId, what: string) => ({
    deadline: ctx.deadline,
    what: `${what} (step: ${STEP_TITLES[step]})`,
    onWait: (info: { waitedMs: number; reason: string }) =>
      ctx.progress({
        step,
        title: STEP_TITLES[step],
        status: "waiting" as const,
        elapsedMs: ctx.deadline.clock.now() - started,
        detail: `waiting for replication (${(info.waitedMs / 1000).toFixed(1)} s)`,
      }),
  });
  const { api, desired } = ctx;

  let app = state.application;
  await run("application", async () => {
    const action = actionOf("application");
    if (app && action === "exists") {
      ids.appObjectId = app.id;
      ids.appId = app.appId;
      return { action: "exists", objectId: app.id };
    }
    if (app) {
      const id = app.id;
      const requiredResourceAccess = withExchangePermission(app.requiredResourceAccess);
      await asAdmin("application", "update the application", () =>
        waitFor(
          async () => {
            await api.updateApplication(id, { requiredResourceAccess });
            return true;
          },
          waitOpts("application", "the application to accept the update"),
        ),
      );
      ids.appObjectId = app.id;
      ids.appId = app.appId;
      return { action: "updated", objectId: app.id };
    }
    const upsert = await asAdmin("application", "create applications", () =>
      api.upsertApplication(desired.uniqueName, {
        displayName: desired.displayName,
        signInAudience: "AzureADMyOrg",
        requiredResourceAccess: [exchangePermission()],
      }),
    );
    // 204 = another run created it between our read and our write: use that one.
    app =
      upsert.application ??
      (await waitFor(
        () => api.findApplicationByUniqueName(desired.uniqueName),
        waitOpts("application", "the application to become visible"),
      ));
    ids.appObjectId = app.id;
    ids.appId = app.appId;
    return { action: upsert.created ? "created" : "exists", objectId: app.id };
  });
  const appObjectId = ids.appObjectId as string;
  const appId = ids.appId as string;

  await run("certificate", async () => {
    if (actionOf("certificate") === "exists") return { action: "exists" };
    if (!desired.certificate && ctx.createCertificate) desired.certificate = await ctx.createCertificate();
    const certificate = desired.certificate;
    if (!certificate) throw new Error("internal: no certificate to register");
    const thumbprint = certificate.thumbprint;
    // Re-read right before the write: PATCH replaces the collection, so it must be built from the latest list.
    const existing = await asAdmin("application", "read the application's keys", () =>
      waitFor(() => api.getKeyCredentials(appObjectId), waitOpts("certificate", "the new application")),
    );
    if (existing.some((k) => keyMatchesThumbprint(k, thumbprint))) return { action: "exists" };
    const keys = appendKeyCredential(existing, newKeyCredential(certificate));
    await asAdmin("application", "add a certificate to the application", () =>
      waitFor(
        async () => {
          await api.setKeyCredentials(appObjectId, keys);
          return true;
        },
        waitOpts("certificate", "the application to accept the certificate"),
      ),
    );
    return { action: "updated" };
  });

  let sp = state.servicePrincipal;
  await run("service-principal", async () => {
    if (sp) {
      ids.servicePrincipalId = sp.id;
      return { action: "exists", objectId: sp.id };
    }
    let created = true;
    sp = await asAdmin("application", "create service principals", () =>
      waitFor(
        async () => {
          try {
            return await api.createServicePrincipal(appId);
          } catch (error) {
            // 409: it exists already (another run, or created by the portal): read it instead.
            if (error instanceof GraphError && error.status === 409) {
              created = false;
              return api.findServicePrincipalByAppId(appId);
            }
            throw error;
          }
        },
        waitOpts("service-principal", "the application to replicate"),
      ),
    );
    ids.servicePrincipalId = sp.id;
    return { action: created ? "created" : "exists", objectId: sp.id };
  });
  const spId = ids.servicePrincipalId as string;

  let exo = state.exchangeServicePrincipal;
  await run("exchange-service-principal", async () => {
    let created = false;
    if (!exo) {
      exo = await asAdmin("application", "create the Office 365 Exchange Online service principal", () =>
        waitFor(
          async () => {
            try {
              const sp = await api.createServicePrincipal(EXCHANGE_RESOURCE_APP_ID);
              created = true;
              return sp;
            } catch (error) {
              if (error instanceof GraphError && error.status === 409) {
                return api.findServicePrincipalByAppId(EXCHANGE_RESOURCE_APP_ID);
              }
              throw error;
            }
          },
          waitOpts("exchange-service-principal", "the Exchange Online service principal"),
        ),
      );
    }
    const roles = exo.appRoles ?? [];
    if (roles.length > 0 && !roles.some((r) => r.id === EXCHANGE_MANAGE_AS_APP_ROLE_ID)) {
      throw new ServerError(
        `The Office 365 Exchange Online service principal ${exo.id} has no ${EXCHANGE_MANAGE_AS_APP} app role.`,
        { hint: "This tenant's Exchange Online registration looks unusual; contact Microsoft support." },
      );
    }
    ids.exchangeServicePrincipalId = exo.id;
    return { action: created ? "created" : "exists", objectId: exo.id };
  });
  const exoId = ids.exchangeServicePrincipalId as string;

  await run("consent", async () => {
    if (state.consent && state.consent.resourceId === exoId) {
      ids.consentId = state.consent.id;
      return { action: "exists", objectId: state.consent.id };
    }
    const findGrant = async () =>
      (await api.listAppRoleAssignments(spId)).find(
        (g) => g.appRoleId === EXCHANGE_MANAGE_AS_APP_ROLE_ID && g.resourceId === exoId,
      );
    let created = true;
    const grant = await asAdmin("consent", "grant admin consent (app role assignment)", () =>
      waitFor(
        async () => {
          try {
            return await api.grantAppRole(spId, exoId, EXCHANGE_MANAGE_AS_APP_ROLE_ID);
          } catch (error) {
            if (error instanceof GraphError && error.matches(/already exists/i)) {
              created = false;
              return findGrant();
            }
            throw error;
          }
        },
        waitOpts("consent", "the service principal to replicate"),
      ),
    );
    ids.consentId = grant.id;
    return { action: created ? "created" : "exists", objectId: grant.id };
  });

  await run("role", async () => {
    if (state.roleAssignment) {
      ids.roleAssignmentId = state.roleAssignment.id;
      return { action: "exists", objectId: state.roleAssignment.id };
    }
    const templateId = desired.role.templateId;
    const findRole = async () =>
      (await api.listRoleAssignments(spId)).find(
        (r) => r.roleDefinitionId === templateId && (r.directoryScopeId ?? "/") === "/",
      );
    let created = true;
    const assignment = await asAdmin("role", `assign the ${desired.role.displayName} role`, () =>
      waitFor(
        async () => {
          try {
            return await api.createRoleAssignment(spId, templateId);
          } catch (error) {
            if (error instanceof GraphError && error.matches(/conflicting object/i)) {
              created = false;
              return findRole();
            }
            throw error;
          }
        },
        waitOpts("role", "the service principal to replicate"),
      ),
    );
    ids.roleAssignmentId = assignment.id;
    return { action: created ? "created" : "exists", objectId: assignment.id };
  });

  return ids;
}
