import {
  type AdminSession,
  type AdminSignInOptions,
  assertTokenTenant,
  resolveTenantId,
  signInAdmin,
} from "../auth/admin.js";
import { DIRECTORY_ROLES, type DirectoryRole, findRole } from "../auth/roles.js";
import { type CloudEndpoints, resolveEndpoints } from "../cloud/environments.js";
import { stateHome } from "../config/home.js";
import { findProfile, saveProfile } from "../config/profiles.js";
import { normalizeThumbprint, validateOrganization } from "../config/validate.js";
import { AuthenticationError, AuthorizationError, UsageError } from "../errors.js";
import { GraphClient } from "../graph/client.js";
import { DirectoryApi } from "../graph/directory.js";
import { keyMatchesThumbprint } from "../graph/key-credentials.js";
import { type Clock, Deadline, systemClock, waitFor } from "../graph/replication.js";
import { HttpTransport } from "../http/transport.js";
import {
  type CertificateChoice,
  type ResolvedCertificate,
  resolveSetupCertificate,
  type SetupCredential,
} from "./certificate.js";
import { type ConnectionSnippets, connectionSnippets } from "./connection-snippets.js";
import { JournalWriter, journalPath, readJournal } from "./journal.js";
import {
  applyPlan,
  type DesiredState,
  type PlanItem,
  type ProvisionedIds,
  planFrom,
  readTenantState,
  STEP_TITLES,
  type StepId,
  type StepProgress,
} from "./steps.js";
import { exchangeVerifier, isPropagationFailure, type Verifier } from "./verify.js";

export const DEFAULT_APP_NAME = "exo-cba";
export const DEFAULT_SETUP_TIMEOUT_MS = 5 * 60_000;

export interface SetupOptions {
  /** Tenant: its `*.onmicrosoft.com` domain (recommended) or tenant id. */
  organization: string;
  /** `--role` value (e.g. `global-reader`) or a role template id. */
  role: string;
  appName?: string;
  /** Omit to reuse the certificate of an earlier run, or else create a new self-signed one. */
  certificate?: CertificateChoice;
  /** Validity of a newly created certificate in years (default 1). */
  certificateYears?: number;
  /** Profile to save (default: the organization). */
  profile?: string;
  /** Stop after the plan. */
  dryRun?: boolean;
  /** Deadline for applying and verifying, in ms (default 5 min). */
  timeoutMs?: number;
  /** Skip the live Exchange check (not recommended; for tenants without Exchange Online licences). */
  skipVerify?: boolean;
  home?: string;
  env?: NodeJS.ProcessEnv;
  endpoints?: CloudEndpoints;
  transport?: HttpTransport;
  /** How to sign the admin in (ignored when `admin` is given). */
  signIn?: Pick<AdminSignInOptions, "method" | "clientId" | "accessToken" | "onMessage" | "openBrowser">;
  /**
   * An admin session made by the caller (tests, or a host that already signed in).
   * @internal
   */
  admin?: AdminSession;
  /** Receives the plan as soon as it is known (before `confirm`, also when nothing changes). */
  onPlan?: (plan: PlanItem[]) => void;
  /** Asked after the plan is shown and before any change; absent = go ahead. */
  confirm?: (plan: PlanItem[]) => Promise<boolean>;
  /** Progress per step, with elapsed time (the CLI prints these on stderr). */
  progress?: (event: StepProgress) => void;
  /**
   * Replaces the Exchange verification (tests).
   * @internal
   */
  verifier?: Verifier;
  /** @internal */
  clock?: Clock;
  /**
   * Test hook: called after each step; throwing there simulates a crash after that step.
   * @internal
   */
  afterStep?: (step: StepId) => void | Promise<void>;
  /**
   * Observe Graph responses (tests count writes).
   * @internal
   */
  onGraphResponse?: (entry: { method: string; path: string; status: number }) => void;
}

export interface SetupResult {
  status: "planned" | "cancelled" | "unchanged" | "applied";
  organization: string;
  tenantId: string;
  environment: string;
  appName: string;
  uniqueName: string;
  role: { name: string; displayName: string; templateId: string };
  plan: PlanItem[];
  appId?: string;
  appObjectId?: string;
  servicePrincipalId?: string;
  exchangeServicePrincipalId?: string;
  consentId?: string;
  roleAssignmentId?: string;
  certificate?: { thumbprint: string; subject: string; notAfter: string; origin: string };
  verification?: {
    ok: boolean;
    attempts: number;
    elapsedMs: number;
    organizationName?: string;
    skipped?: string;
  };
  profile?: string;
  journal: string;
  elapsedMs: number;
  connect?: ConnectionSnippets;
}

/** A deterministic, readable alternate key: the same app name in the same tenant is always the same app. */
export function uniqueNameFor(appName: string, tenantId: string): string {
  const slug =
    appName
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "") || DEFAULT_APP_NAME;
  return `${slug}-${tenantId.toLowerCase()}`;
}

export function parseRole(value: string): DirectoryRole {
  const role = findRole(value);
  if (!role) {
    throw new UsageError(`Unknown role '${value}'.`, {
      hint: `Use one of: ${DIRECTORY_ROLES.map((r) => r.name).join(", ")}.`,
    });
  }
  return role;
}

/**
 * Provision (or converge) everything app-only Exchange access needs, prove it works, save a profile.
 * Reads the tenant, builds a plan, asks `confirm`, applies, verifies. Safe to run again at any point.
 */
/** What the phases of one setup run share: the validated inputs, the transport, the clock and progress. */
interface SetupRun {
  options: SetupOptions;
  env: NodeJS.ProcessEnv;
  home: string;
  clock: Clock;
  started: number;
  elapsed: () => number;
  organization: string;
  role: DirectoryRole;
  appName: string;
  endpoints: CloudEndpoints;
  timeoutMs: number;
  transport: HttpTransport;
  ownTransport: boolean;
  progress: (event: StepProgress) => void;
  say: (step: StepProgress["step"], status: StepProgress["status"], title: string, detail?: string) => void;
}

/** The plan and everything read to make it. */
interface PlannedSetup {
  tenantId: string;
  uniqueName: string;
  profileName: string;
  cert: ResolvedCertificate;
  api: DirectoryApi;
  desired: DesiredState;
  state: Awaited<ReturnType<typeof readTenantState>>;
  plan: PlanItem[];
  /** The result as far as the plan goes. */
  base: SetupResult;
}

/** What applying left: the ids, the certificate registered, and the journal (still open). */
interface AppliedSetup {
  ids: ProvisionedIds;
  credential: SetupCredential;
  journal: JournalWriter;
}

/**
 * `exo-cba setup`: validate, plan (read the tenant), confirm, apply the steps, save the profile, verify
 * with a live cmdlet as the app. Each phase is a function below; this one only orders them.
 */
export async function setupExchangeApp(options: SetupOptions): Promise<SetupResult> {
  const run = newSetupRun(options);
  try {
    const planned = await planSetup(run);
    const { plan, base } = planned;
    options.onPlan?.(plan);
    if (options.dryRun) return { ...base, elapsedMs: run.elapsed() };
    const changes = plan.some((p) => p.action !== "exists");
    if (changes && options.confirm && !(await options.confirm(plan))) {
      return { ...base, status: "cancelled", elapsedMs: run.elapsed() };
    }

    // The deadline covers the work, not the time a human spent reading the plan.
    const deadline = new Deadline(run.clock, run.timeoutMs);
    const applied = await applySetup(run, planned, deadline);
    const { ids, credential, journal } = applied;
    const { cert } = planned;
    const result: SetupResult = {
      ...base,
      status: changes ? "applied" : "unchanged",
      ...ids,
      certificate: {
        thumbprint: credential.thumbprint,
        subject: credential.subject,
        notAfter: credential.notAfter.toISOString(),
        origin: cert.kind === "new" ? "created" : cert.origin,
      },
    };
    // Save the profile before verifying: a slow propagation should not lose what was created.
    await saveSetupProfile(run, planned, applied);
    result.profile = planned.profileName;
    result.verification = await verifySetup(run, planned, applied, deadline);
    await journal.finish("completed");
    result.connect = connectionSnippets({
      appId: ids.appId as string,
      organization: run.organization,
      thumbprint: credential.thumbprint,
      profile: planned.profileName,
      endpoints: run.endpoints,
    });
    result.elapsedMs = run.elapsed();
    return result;
  } finally {
    if (run.ownTransport) run.transport.close();
  }
}

/** Check the inputs (exit 2 before any network call) and set up what every phase uses. */
function newSetupRun(options: SetupOptions): SetupRun {
  const env = options.env ?? process.env;
  const home = options.home ?? stateHome(env);
  const clock = options.clock ?? systemClock;
  const started = clock.now();
  const elapsed = () => clock.now() - started;
  const organization = validateOrganization(options.organization);
  const role = parseRole(options.role);
  const appName = options.appName ?? DEFAULT_APP_NAME;
  if (!appName.trim() || appName.length > 90) {
    throw new UsageError("--app-name must be 1 to 90 characters.");
  }
  const endpoints = options.endpoints ?? resolveEndpoints(env.EXO_ENVIRONMENT, env);
  const timeoutMs = options.timeoutMs ?? DEFAULT_SETUP_TIMEOUT_MS;
  const ownTransport = !options.transport;
  const transport = options.transport ?? new HttpTransport({ env: options.env ?? process.env });
  const progress = options.progress ?? (() => {});
  const say: SetupRun["say"] = (step, status, title, detail) =>
    progress({ step, title, status, elapsedMs: elapsed(), ...(detail ? { detail } : {}) });
  return {
    options,
    env,
    home,
    clock,
    started,
    elapsed,
    organization,
    role,
    appName,
    endpoints,
    timeoutMs,
    transport,
    ownTransport,
    progress,
    say,
  };
}

/** Resolve the tenant and the certificate, sign the admin in, read the tenant and make the plan. */
async function planSetup(run: SetupRun): Promise<PlannedSetup> {
  const { options, env, home, organization, appName, role, endpoints, transport, say } = run;
  const certificateOptions = {
    home,
    env,
    organization,
    appName,
    ...(options.certificateYears ? { years: options.certificateYears } : {}),
  };
  // A certificate given on the command line is read and checked (expired, not yet valid: exit 2)
  // before any network call, so a bad one costs nothing (docs/setup.md).
  const given = options.certificate
    ? await resolveSetupCertificate({ ...certificateOptions, choice: options.certificate })
    : undefined;

  say("read", "start", "organization");
  const tenantId = await resolveTenantId(endpoints, organization, transport);
  const uniqueName = uniqueNameFor(appName, tenantId);
  const profileName = options.profile ?? organization;

  // What an earlier run used, so a re-run without --certificate-* registers no second key.
  const cert =
    given ??
    (await resolveSetupCertificate({
      ...certificateOptions,
      previousThumbprints: await previousThumbprints(home, profileName, uniqueName),
    }));

  const api = new DirectoryApi(await adminGraph(run, tenantId));
  const desired: DesiredState = {
    uniqueName,
    displayName: appName,
    role,
    certificate: cert.kind === "existing" ? cert.credential : undefined,
    ...(cert.kind === "new" ? { newCertificateDnsName: cert.dnsName } : {}),
  };
  say("read", "start", "current state of the tenant");
  const state = await readTenantState(api, desired);
  const plan = planFrom(state, desired);
  say("read", "done", "current state of the tenant");

  const base: SetupResult = {
    status: "planned",
    organization,
    tenantId,
    environment: endpoints.environment,
    appName,
    uniqueName,
    role: { name: role.name, displayName: role.displayName, templateId: role.templateId },
    plan,
    journal: journalPath(home, uniqueName),
    elapsedMs: run.elapsed(),
    ...(state.application ? { appId: state.application.appId, appObjectId: state.application.id } : {}),
    ...(cert.kind === "existing" ? { certificate: describe(cert) } : {}),
  };
  return { tenantId, uniqueName, profileName, cert, api, desired, state, plan, base };
}

/** Sign the admin in (or take the caller's session), check the token's tenant, and build a Graph client. */
async function adminGraph(run: SetupRun, tenantId: string): Promise<GraphClient> {
  const { options, env, organization, endpoints, transport, say } = run;
  say("sign-in", "start", "admin sign-in");
  const admin =
    options.admin ??
    (await signInAdmin({
      endpoints,
      organization,
      transport,
      ...options.signIn,
      ...(options.signIn?.accessToken === undefined && env.EXO_ADMIN_ACCESS_TOKEN
        ? { accessToken: env.EXO_ADMIN_ACCESS_TOKEN }
        : {}),
    }));
  say("sign-in", "done", "admin sign-in", admin.username ?? admin.method);
  assertTokenTenant(await admin.getToken(), tenantId, organization);
  return new GraphClient({
    endpoint: endpoints.graphEndpoint,
    transport,
    getToken: () => admin.getToken(),
    ...(options.onGraphResponse ? { onResponse: options.onGraphResponse } : {}),
  });
}

/** Apply the plan under a journal; a failure is journalled and summarised, then rethrown. */
async function applySetup(run: SetupRun, planned: PlannedSetup, deadline: Deadline): Promise<AppliedSetup> {
  const { options, home, organization, appName, say } = run;
  const { cert, profileName, uniqueName, tenantId } = planned;
  const journal = await JournalWriter.start(home, uniqueName, organization, tenantId);
  let credential = cert.kind === "existing" ? cert.credential : undefined;
  let ids: ProvisionedIds;
  try {
    if (credential) {
      await journal.step(
        "plan",
        { status: "done", action: "exists" },
        { certificateThumbprint: credential.thumbprint, profile: profileName },
      );
    }
    const createCertificate = async () => {
      if (cert.kind !== "new") throw new Error("internal: no certificate to create");
      say("certificate", "start", "new self-signed certificate");
      credential = await cert.create();
      // Recorded at once: a re-run after a crash reuses this certificate instead of making another.
      await journal.step(
        "local-certificate",
        { status: "done", action: "created" },
        { certificateThumbprint: credential.thumbprint, profile: profileName },
      );
      say("certificate", "done", "new self-signed certificate", credential.thumbprint);
      return credential;
    };
    ids = await applyPlan(
      {
        api: planned.api,
        desired: planned.desired,
        deadline,
        progress: run.progress,
        journal,
        startedAt: run.started,
        createCertificate,
        ...(options.afterStep ? { afterStep: options.afterStep } : {}),
      },
      planned.state,
      planned.plan,
    );
  } catch (error) {
    await journal.finish("failed", (error as Error).message);
    say("read", "failed", "setup stopped", failureSummary(journal.journal.steps, organization, appName));
    throw error;
  }
  if (!credential) throw new Error("internal: no certificate after applying the plan");
  return { ids, credential, journal };
}

/** Save the profile, with the key's id on the app when it can be read. */
async function saveSetupProfile(run: SetupRun, planned: PlannedSetup, applied: AppliedSetup): Promise<void> {
  const { options, home, organization, role, endpoints } = run;
  const { ids, credential } = applied;
  // The key's id lets the app later rotate its own certificate (Graph removeKey needs it, and an app
  // cannot list its own keys). Best effort: a profile without it still works for everything else.
  const thumbprintInUse = credential.thumbprint;
  const keyId =
    ids.appObjectId && thumbprintInUse
      ? (await planned.api.getKeyCredentials(ids.appObjectId).catch(() => [])).find((k) =>
          keyMatchesThumbprint(k, thumbprintInUse),
        )?.keyId
      : undefined;
  await saveProfile(home, {
    name: planned.profileName,
    organization,
    tenantId: planned.tenantId,
    appId: ids.appId as string,
    ...(ids.appObjectId ? { appObjectId: ids.appObjectId } : {}),
    ...(ids.servicePrincipalId ? { servicePrincipalId: ids.servicePrincipalId } : {}),
    // A certificate from a file stays in that file: the profile points there, not at the store.
    ...(options.certificate && "path" in options.certificate
      ? { certificateFilePath: options.certificate.path }
      : { certificateThumbprint: normalizeThumbprint(credential.thumbprint) }),
    ...(keyId ? { certificateKeyId: keyId } : {}),
    environment: endpoints.custom ? "O365Default" : endpoints.environment,
    role: role.name,
    ...(endpoints.custom
      ? {
          endpoints: {
            authorityHost: endpoints.authorityHost,
            graphEndpoint: endpoints.graphEndpoint,
            exchangeEndpoint: endpoints.exchangeEndpoint,
          },
        }
      : {}),
  });
}

/** A live cmdlet as the app, retried while the grants propagate; a failure closes the journal as failed. */
async function verifySetup(
  run: SetupRun,
  planned: PlannedSetup,
  applied: AppliedSetup,
  deadline: Deadline,
): Promise<NonNullable<SetupResult["verification"]>> {
  const { options, organization, endpoints, transport, clock, say } = run;
  const { ids, credential, journal } = applied;
  if (options.skipVerify) return { ok: false, attempts: 0, elapsedMs: 0, skipped: "--skip-verify" };
  if (!credential.privateKeyPem) {
    return {
      ok: false,
      attempts: 0,
      elapsedMs: 0,
      skipped: "the certificate file has no private key, so this machine cannot sign in as the app",
    };
  }
  try {
    return await verifyWithRetry({
      verifier: options.verifier ?? exchangeVerifier,
      input: {
        appId: ids.appId as string,
        organization,
        tenantId: planned.tenantId,
        certificate: { certificatePem: credential.certificatePem, privateKeyPem: credential.privateKeyPem },
        endpoints,
        transport,
      },
      deadline,
      progress: (status, detail) => say("verify", status, "Exchange Online accepts the app", detail),
      clock,
    });
  } catch (error) {
    await journal.finish("failed", (error as Error).message);
    throw error;
  }
}

function describe(cert: ResolvedCertificate & { kind: "existing" }) {
  return {
    thumbprint: cert.credential.thumbprint,
    subject: cert.credential.subject,
    notAfter: cert.credential.notAfter.toISOString(),
    origin: cert.origin,
  };
}

/** Certificates earlier runs used, newest knowledge first: the profile (kept current by `cert rotate`), then the journal. */
async function previousThumbprints(home: string, profileName: string, uniqueName: string): Promise<string[]> {
  const found: string[] = [];
  try {
    const fromProfile = (await findProfile(home, profileName))?.certificateThumbprint;
    if (fromProfile) found.push(fromProfile);
  } catch {
    // no such profile yet
  }
  const fromJournal = (await readJournal(home, uniqueName))?.ids.certificateThumbprint;
  if (fromJournal && !found.includes(fromJournal)) found.push(fromJournal);
  return found;
}

/** What exists after a failed run, and how to go on: re-run to resume, or tear down. */
export function failureSummary(
  steps: Record<string, { status: string; action: string; objectId?: string }>,
  organization: string,
  appName: string,
): string {
  const done = Object.entries(steps)
    .filter(([name, s]) => s.status === "done" && name in STEP_TITLES)
    .map(([name, s]) => `${STEP_TITLES[name as StepId]} (${s.action}${s.objectId ? ` ${s.objectId}` : ""})`);
  const failed = Object.entries(steps).find(([, s]) => s.status === "failed");
  const appFlag = appName === DEFAULT_APP_NAME ? "" : ` --app-name ${appName}`;
  const stopped = failed ? `Stopped at: ${STEP_TITLES[failed[0] as StepId] ?? failed[0]}.` : "Stopped.";
  if (!done.length) return `${stopped} Nothing was changed in the tenant.`;
  return [
    stopped,
    `In place: ${done.join("; ")}.`,
    `Run the same command again to resume, or \`exo-cba teardown --organization ${organization}${appFlag}\` to remove what exists.`,
  ].join(" ");
}

async function verifyWithRetry(input: {
  verifier: Verifier;
  input: Parameters<Verifier>[0];
  deadline: Deadline;
  progress: (status: StepProgress["status"], detail?: string) => void;
  clock: Clock;
}): Promise<NonNullable<SetupResult["verification"]>> {
  const started = input.clock.now();
  let attempts = 0;
  let lastError: unknown;
  input.progress("start");
  try {
    const outcome = await waitFor(
      async () => {
        attempts++;
        try {
          return await input.verifier(input.input);
        } catch (error) {
          lastError = error;
          throw error;
        }
      },
      {
        deadline: input.deadline,
        what: "Exchange Online to accept the app (step: verification)",
        retryOn: isPropagationFailure,
        onWait: (info) =>
          input.progress(
            "waiting",
            `not yet (${(info.waitedMs / 1000).toFixed(1)} s): ${shortReason(lastError)}`,
          ),
      },
    );
    input.progress("done", outcome.organizationName);
    return {
      ok: true,
      attempts,
      elapsedMs: input.clock.now() - started,
      ...(outcome.organizationName ? { organizationName: outcome.organizationName } : {}),
    };
  } catch (error) {
    input.progress("failed", (error as Error).message);
    // The deadline passed while Exchange still refused: report the last refusal (it names what is missing).
    if (lastError && isPropagationFailure(lastError) && error !== lastError) {
      throw stillRefused(
        lastError,
        Math.round((input.clock.now() - started) / 1000),
        input.input.organization,
      );
    }
    throw error;
  }
}

const shortReason = (error: unknown) =>
  ((error as Error | undefined)?.message ?? "").split(/\r?\n/)[0]?.slice(0, 160);

/** Everything is provisioned but the live check still fails at the deadline: say what is missing and what next. */
function stillRefused(last: unknown, seconds: number, organization: string): Error {
  const next = `Everything is in place in Entra ID; run \`exo-cba test --profile ${organization}\` again in a few minutes (propagation can take up to an hour), or raise --timeout.`;
  if (last instanceof AuthorizationError) {
    const what =
      last.reason === "permission-missing"
        ? "the Exchange.ManageAsApp permission (admin consent) is not in the app's token yet"
        : last.reason === "role-missing"
          ? "the directory role is not in the app's token yet"
          : "Exchange has not applied the role yet";
    return new AuthorizationError(
      `Exchange Online still refuses the app after ${seconds} s: ${what}. (${last.message})`,
      {
        reason: last.reason === "unknown" ? "propagating" : last.reason,
        ...(last.httpStatus !== undefined ? { httpStatus: last.httpStatus } : {}),
        ...(last.requestId ? { requestId: last.requestId } : {}),
        hint: next,
        cause: last,
      },
    );
  }
  if (last instanceof AuthenticationError) {
    return new AuthenticationError(
      `The token service does not know the app or its certificate yet after ${seconds} s. (${last.message})`,
      {
        ...(last.aadstsCode !== undefined ? { aadstsCode: last.aadstsCode } : {}),
        hint: next,
        cause: last,
      },
    );
  }
  return last as Error;
}
