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
import { type Deadline, type WaitOptions, waitFor } from "../graph/replication.js";
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
 * The provisioning steps (docs/setup.md, docs/graph-queries.md): each reads the tenant, says what it would do, and
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

/**
 * A `waitFor` probe for an object that may exist already: create it, or, when Graph refuses the create as
 * a duplicate (another run, the portal, a write of ours that replicated late), read the existing one
 * (undefined until it is visible, so `waitFor` asks again). `made.created` says which the last try did.
 */
function createOrFind<T>(
  create: () => Promise<T>,
  isDuplicate: (error: GraphError) => boolean,
  find: () => Promise<T | undefined>,
  made: { created: boolean },
): () => Promise<T | undefined> {
  return async () => {
    try {
      const value = await create();
      made.created = true;
      return value;
    } catch (error) {
      if (!(error instanceof GraphError) || !isDuplicate(error)) throw error;
      made.created = false;
      return find();
    }
  };
}

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

type StepOutcome = { action: "exists" | "created" | "updated"; objectId?: string };

/**
 * What one step sees: the apply context, the tenant as read before the plan, the plan's action for this
 * step, the ids earlier steps provisioned (it adds its own), and the wait options for this step.
 */
export interface StepRun {
  ctx: ApplyContext;
  state: TenantState;
  action: PlanAction;
  ids: ProvisionedIds;
  /** Wait options for `waitFor` that report replication waits as this step's progress. */
  waitFor(what: string): WaitOptions;
}

/** Step 1: the application registration, created or updated to hold the Exchange permission. */
export async function applyApplication({
  ctx,
  state,
  action,
  ids,
  waitFor: wait,
}: StepRun): Promise<StepOutcome> {
  const { api, desired } = ctx;
  const app = state.application;
  if (app && action === "exists") {
    ids.appObjectId = app.id;
    ids.appId = app.appId;
    return { action: "exists", objectId: app.id };
  }
  if (app) {
    const id = app.id;
    const requiredResourceAccess = withExchangePermission(app.requiredResourceAccess);
    await asAdmin("application", "update the application", () =>
      waitFor(async () => {
        await api.updateApplication(id, { requiredResourceAccess });
        return true;
      }, wait("the application to accept the update")),
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
  const created =
    upsert.application ??
    (await waitFor(
      () => api.findApplicationByUniqueName(desired.uniqueName),
      wait("the application to become visible"),
    ));
  ids.appObjectId = created.id;
  ids.appId = created.appId;
  return { action: upsert.created ? "created" : "exists", objectId: created.id };
}

/** Step 2: our certificate among the application's keys (created first when setup makes one). */
export async function applyCertificate({ ctx, action, ids, waitFor: wait }: StepRun): Promise<StepOutcome> {
  const { api, desired } = ctx;
  const appObjectId = ids.appObjectId as string;
  if (action === "exists") return { action: "exists" };
  if (!desired.certificate && ctx.createCertificate) desired.certificate = await ctx.createCertificate();
  const certificate = desired.certificate;
  if (!certificate) throw new Error("internal: no certificate to register");
  const thumbprint = certificate.thumbprint;
  // Re-read right before the write: PATCH replaces the collection, so it must be built from the latest list.
  const existing = await asAdmin("application", "read the application's keys", () =>
    waitFor(() => api.getKeyCredentials(appObjectId), wait("the new application")),
  );
  if (existing.some((k) => keyMatchesThumbprint(k, thumbprint))) return { action: "exists" };
  const keys = appendKeyCredential(existing, newKeyCredential(certificate));
  await asAdmin("application", "add a certificate to the application", () =>
    waitFor(async () => {
      await api.setKeyCredentials(appObjectId, keys);
      return true;
    }, wait("the application to accept the certificate")),
  );
  return { action: "updated" };
}

/** Step 3: the application's service principal in this tenant. */
export async function applyServicePrincipal({
  ctx,
  state,
  ids,
  waitFor: wait,
}: StepRun): Promise<StepOutcome> {
  const { api } = ctx;
  const appId = ids.appId as string;
  if (state.servicePrincipal) {
    ids.servicePrincipalId = state.servicePrincipal.id;
    return { action: "exists", objectId: state.servicePrincipal.id };
  }
  const made = { created: false };
  const sp = await asAdmin("application", "create service principals", () =>
    waitFor(
      // 409: it exists already (another run, or created by the portal): read it instead.
      createOrFind(
        () => api.createServicePrincipal(appId),
        (error) => error.status === 409,
        () => api.findServicePrincipalByAppId(appId),
        made,
      ),
      wait("the application to replicate"),
    ),
  );
  ids.servicePrincipalId = sp.id;
  return { action: made.created ? "created" : "exists", objectId: sp.id };
}

/** Step 4: the Office 365 Exchange Online service principal, which must offer Exchange.ManageAsApp. */
export async function applyExchangeServicePrincipal({
  ctx,
  state,
  ids,
  waitFor: wait,
}: StepRun): Promise<StepOutcome> {
  const { api } = ctx;
  const made = { created: false };
  let exo = state.exchangeServicePrincipal;
  if (!exo) {
    exo = await asAdmin("application", "create the Office 365 Exchange Online service principal", () =>
      waitFor(
        createOrFind(
          () => api.createServicePrincipal(EXCHANGE_RESOURCE_APP_ID),
          (error) => error.status === 409,
          () => api.findServicePrincipalByAppId(EXCHANGE_RESOURCE_APP_ID),
          made,
        ),
        wait("the Exchange Online service principal"),
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
  return { action: made.created ? "created" : "exists", objectId: exo.id };
}

/** Step 5: admin consent for Exchange.ManageAsApp (an app role assignment to our service principal). */
export async function applyConsent({ ctx, state, ids, waitFor: wait }: StepRun): Promise<StepOutcome> {
  const { api } = ctx;
  const spId = ids.servicePrincipalId as string;
  const exoId = ids.exchangeServicePrincipalId as string;
  if (state.consent && state.consent.resourceId === exoId) {
    ids.consentId = state.consent.id;
    return { action: "exists", objectId: state.consent.id };
  }
  const findGrant = async () =>
    (await api.listAppRoleAssignments(spId)).find(
      (g) => g.appRoleId === EXCHANGE_MANAGE_AS_APP_ROLE_ID && g.resourceId === exoId,
    );
  const made = { created: false };
  const grant = await asAdmin("consent", "grant admin consent (app role assignment)", () =>
    waitFor(
      createOrFind(
        () => api.grantAppRole(spId, exoId, EXCHANGE_MANAGE_AS_APP_ROLE_ID),
        (error) => error.matches(/already exists/i),
        findGrant,
        made,
      ),
      wait("the service principal to replicate"),
    ),
  );
  ids.consentId = grant.id;
  return { action: made.created ? "created" : "exists", objectId: grant.id };
}

/** Step 6: the directory role, assigned to our service principal at tenant scope. */
export async function applyRole({ ctx, state, ids, waitFor: wait }: StepRun): Promise<StepOutcome> {
  const { api, desired } = ctx;
  const spId = ids.servicePrincipalId as string;
  if (state.roleAssignment) {
    ids.roleAssignmentId = state.roleAssignment.id;
    return { action: "exists", objectId: state.roleAssignment.id };
  }
  const templateId = desired.role.templateId;
  const findAssignment = async () =>
    (await api.listRoleAssignments(spId)).find(
      (r) => r.roleDefinitionId === templateId && (r.directoryScopeId ?? "/") === "/",
    );
  const made = { created: false };
  const assignment = await asAdmin("role", `assign the ${desired.role.displayName} role`, () =>
    waitFor(
      createOrFind(
        () => api.createRoleAssignment(spId, templateId),
        (error) => error.matches(/conflicting object/i),
        findAssignment,
        made,
      ),
      wait("the service principal to replicate"),
    ),
  );
  ids.roleAssignmentId = assignment.id;
  return { action: made.created ? "created" : "exists", objectId: assignment.id };
}

/** The steps in the order they run (STEP_IDS); each reads the ids of the ones before it. */
export const APPLY_STEPS: Record<StepId, (run: StepRun) => Promise<StepOutcome>> = {
  application: applyApplication,
  certificate: applyCertificate,
  "service-principal": applyServicePrincipal,
  "exchange-service-principal": applyExchangeServicePrincipal,
  consent: applyConsent,
  role: applyRole,
};

/** Apply the plan in order; returns the ids of everything setup owns. */
export async function applyPlan(
  ctx: ApplyContext,
  state: TenantState,
  plan: PlanItem[],
): Promise<ProvisionedIds> {
  const ids: ProvisionedIds = {};
  const started = ctx.startedAt ?? ctx.deadline.clock.now();
  for (const step of STEP_IDS) {
    const run: StepRun = {
      ctx,
      state,
      action: plan.find((p) => p.step === step)?.action ?? "create",
      ids,
      waitFor: (what) => stepWaitOptions(ctx, step, started, what),
    };
    await reportStep(ctx, step, started, ids, () => APPLY_STEPS[step](run));
  }
  return ids;
}

/** Run one step with its progress events and journal record; a failure is recorded, then rethrown. */
async function reportStep(
  ctx: ApplyContext,
  step: StepId,
  started: number,
  ids: ProvisionedIds,
  fn: () => Promise<StepOutcome>,
): Promise<void> {
  const title = STEP_TITLES[step];
  const elapsed = () => ctx.deadline.clock.now() - started;
  ctx.progress({ step, title, status: "start", elapsedMs: elapsed() });
  try {
    const result = await fn();
    ctx.progress({ step, title, status: "done", elapsedMs: elapsed(), detail: result.action });
    await ctx.journal?.step(
      step,
      { status: "done", action: result.action, ...(result.objectId ? { objectId: result.objectId } : {}) },
      Object.fromEntries(Object.entries(ids).filter(([, v]) => v !== undefined)) as Record<string, string>,
    );
  } catch (error) {
    ctx.progress({ step, title, status: "failed", elapsedMs: elapsed(), detail: (error as Error).message });
    await ctx.journal?.step(step, { status: "failed", action: "exists", error: (error as Error).message });
    throw error;
  }
  await ctx.afterStep?.(step);
}

function stepWaitOptions(ctx: ApplyContext, step: StepId, started: number, what: string): WaitOptions {
  return {
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
  };
}
