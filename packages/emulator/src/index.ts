import type { IncomingMessage, ServerResponse } from "node:http";
import type { MailboxDataset } from "./data/mailboxes.js";
import { EmulatorUsageError } from "./errors.js";
import { ensurePrivateDir } from "./fs.js";
import { createGraphHandler } from "./graph/handler.js";
import { ADMIN_SCOPES, AZURE_CLI_CLIENT_ID, seedTenant } from "./graph/well-known.js";
import { acceptsAudience, mintUserToken } from "./identity/access-tokens.js";
import { DeviceCodeStore } from "./identity/device-code.js";
import { createIdentityHandler } from "./identity/handler.js";
import { delegatedPermissions } from "./identity/token-endpoint.js";
import { TokenIssuer } from "./identity/tokens.js";
import {
  type EmulatorContext,
  type EmulatorStats,
  type Listener,
  listen,
  originOf,
  type RuntimeSettings,
} from "./server.js";
import { StateStore } from "./state.js";
import { loadOrCreateTls } from "./tls.js";
import type {
  AccessTokenClaims,
  EmulatorOptions,
  FaultOptions,
  RunningEmulator,
  TenantInfo,
  ThrottleOptions,
  UsageTruth,
} from "./types.js";

export { EmulatorUsageError } from "./errors.js";
export type {
  AccessTokenClaims,
  EmulatorOptions,
  FaultOptions,
  MailboxRecord,
  RunningEmulator,
  RunningVb365,
  TenantInfo,
  ThrottleOptions,
  UsageTruth,
  Vb365Options,
  Vb365Truth,
} from "./types.js";

/** Options beyond the shared contract, for tests of edge cases. */
export interface EmulatorCoreOptions extends EmulatorOptions {
  /** start the tenant without the Office 365 Exchange Online service principal (setup must create it) */
  withoutExchangeServicePrincipal?: boolean;
  /** ms epoch clock for every time check (token lifetimes, assertion windows, replication delay) */
  clock?: () => number;
}

/** What the Exchange listener needs from the core (the contract of `exchange/handler.ts`). */
export interface ExchangeDeps<D> {
  origin: string;
  verifyAccessToken(token: string): AccessTokenClaims | null;
  acceptsAudience(aud: string): boolean;
  resolveTenant(segment: string): TenantInfo | undefined;
  authorizationPropagated(claims: AccessTokenClaims): boolean;
  dataset(tenantId: string): D;
  options(): { latencyMs: number; throttle?: ThrottleOptions; faults?: FaultOptions };
  onStat(kind: "exchangeRequests" | "throttled" | "faultsInjected"): void;
  clock(): number;
}

/** How the core builds the Exchange listener and the mailbox data (injected so tests can use a fake). */
export interface ExchangeWiring<D extends { expectedUsage(): UsageTruth }> {
  createHandler(deps: ExchangeDeps<D>): (req: IncomingMessage, res: ServerResponse) => void;
  createDataset(options: { seed: number; count: number; domain: string; tenantId: string }): D;
  /** the mailbox generator behind a dataset, which the VB365 service derives its backups from */
  mailboxes?(dataset: D): MailboxDataset;
}

const DEFAULT_MAILBOXES = 50;

/** Start the emulator with the real Exchange Online handler and mailbox generator. */
export async function startEmulator(
  options: EmulatorOptions & EmulatorCoreOptions = {},
): Promise<RunningEmulator> {
  const [{ createExchangeHandler }, { createMailboxDataset }] = await Promise.all([
    import("./exchange/handler.js"),
    import("./data/mailboxes.js"),
  ]);
  return startEmulatorWith<MailboxDataset>(options, {
    createHandler: (deps) => createExchangeHandler(deps),
    createDataset: (o) => createMailboxDataset(o),
    mailboxes: (d) => d,
  });
}

export async function startEmulatorWith<D extends { expectedUsage(): UsageTruth }>(
  options: EmulatorCoreOptions,
  exchange: ExchangeWiring<D>,
): Promise<RunningEmulator> {
  const host = options.host ?? "127.0.0.1";
  const clock = options.clock ?? Date.now;
  if (options.stateDir) await ensurePrivateDir(options.stateDir);
  // The three RSA keys (CA, server, token signing) are generated concurrently.
  const [tls, store, issuer] = await Promise.all([
    loadOrCreateTls({ stateDir: options.stateDir, host }),
    StateStore.open(options.stateDir, () => [
      seedTenant(options.tenantDomain, {
        withoutExchangeServicePrincipal: options.withoutExchangeServicePrincipal,
      }),
    ]),
    TokenIssuer.open(options.stateDir),
  ]);
  const settings: RuntimeSettings = {
    latencyMs: options.latencyMs ?? 0,
    throttle: options.throttle,
    graphThrottle: options.graphThrottle,
    faults: options.faults,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3599,
    replicationDelayMs: options.replicationDelayMs ?? 0,
    exchangeRoleDelayMs: options.exchangeRoleDelayMs ?? 0,
    deviceCodeAutoApprove: options.deviceCodeAutoApprove ?? true,
  };
  const stats: EmulatorStats = {
    tokenRequests: 0,
    graphRequests: 0,
    exchangeRequests: 0,
    throttled: 0,
    graphThrottled: 0,
    faultsInjected: 0,
  };
  // Origins are known once the listeners are bound; handlers read them per request.
  const ctx: EmulatorContext = {
    store,
    issuer,
    origins: { identity: "", graph: "", exchange: "" },
    settings,
    stats,
    clock,
  };

  const datasets = new Map<string, D>();
  const dataset = (tenantId: string): D => {
    let d = datasets.get(tenantId);
    if (!d) {
      const t = store.tenantById(tenantId);
      if (!t) throw new Error(`No tenant ${tenantId} in the emulator`);
      d = exchange.createDataset({
        seed: options.seed ?? 1,
        count: options.mailboxes ?? DEFAULT_MAILBOXES,
        domain: t.tenant.domain,
        tenantId,
      });
      datasets.set(tenantId, d);
    }
    return d;
  };

  const exchangeHandler = exchange.createHandler({
    get origin() {
      return ctx.origins.exchange;
    },
    verifyAccessToken: (token) => issuer.verify(token, Math.floor(clock() / 1000)),
    acceptsAudience: (aud) => acceptsAudience(ctx, "exchange", aud),
    resolveTenant: (segment) => store.tenant(segment)?.tenant,
    authorizationPropagated: (claims) => authorizationPropagated(ctx, claims),
    dataset,
    options: () => ({ latencyMs: settings.latencyMs, throttle: settings.throttle, faults: settings.faults }),
    onStat: (kind) => {
      stats[kind]++;
    },
    clock,
  });

  const devices = new DeviceCodeStore();
  const listeners: Listener[] = [];
  const closeAll = async () => {
    await Promise.all(listeners.map((l) => l.close()));
  };
  try {
    const handlers = [createIdentityHandler(ctx, devices), createGraphHandler(ctx), exchangeHandler];
    const base = options.port ?? 0;
    for (const [i, handler] of handlers.entries()) {
      listeners.push(
        await listen(handler, { host, port: base === 0 ? 0 : base + i, cert: tls.certPem, key: tls.keyPem }),
      );
    }
  } catch (error) {
    await closeAll();
    await tls.dispose();
    const code = (error as { code?: string }).code;
    if (code === "EADDRINUSE") {
      const p = options.port ?? 0;
      throw new EmulatorUsageError(`Port ${p}, ${p + 1} or ${p + 2} on ${host} is already in use.`, {
        hint: "Pick another --port (the emulator needs three consecutive ports), or --port 0 for any free ports.",
        cause: error,
      });
    }
    throw error;
  }
  const [identity, graph, exo] = listeners.map((l) => originOf(host, l.port)) as [string, string, string];
  ctx.origins = { identity, graph, exchange: exo };
  const t = store.defaultTenant;
  const admin = t.users[0]!;

  // The VB365 REST service (docs/emulator-vb365.md): loaded only when asked for, so start-up stays fast.
  let vb365: Awaited<ReturnType<typeof import("./vb365/index.js").startVb365>> | undefined;
  if (options.vb365 && options.vb365.enabled !== false) {
    const toMailboxes = exchange.mailboxes;
    if (!toMailboxes) throw new Error("this emulator wiring has no mailbox generator for the VB365 service");
    try {
      const { startVb365 } = await import("./vb365/index.js");
      vb365 = await startVb365({
        vb365: options.vb365,
        host,
        port: options.port ? options.port + 3 : 0,
        stateDir: options.stateDir,
        seed: options.seed ?? 1,
        tenantId: t.tenant.id,
        domain: t.tenant.domain,
        mailboxes: () => toMailboxes(dataset(t.tenant.id)),
        clock,
      });
    } catch (error) {
      await closeAll();
      await tls.dispose();
      if ((error as { code?: string }).code === "EADDRINUSE") {
        throw new EmulatorUsageError(
          `Port ${(options.port ?? 0) + 3} on ${host} (VB365) is already in use.`,
          {
            hint: "Pick another --port (with VB365 the emulator needs four consecutive ports), or --port 0.",
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  let closed = false;
  return {
    authorityHost: identity,
    graphEndpoint: graph,
    exchangeEndpoint: exo,
    caPem: tls.caPem,
    caFile: tls.caFile,
    env: {
      EXO_AUTHORITY_HOST: identity,
      EXO_GRAPH_ENDPOINT: graph,
      EXO_EXCHANGE_ENDPOINT: exo,
      EXO_ORGANIZATION: t.tenant.domain,
      NODE_EXTRA_CA_CERTS: tls.caFile,
      ...(vb365
        ? {
            VB365_SERVER: vb365.running.origin,
            VB365_USERNAME: vb365.running.username,
            // only the documented default password is ever printed (docs/emulator-vb365.md)
            ...(vb365.running.defaultPassword ? { VB365_PASSWORD: vb365.running.password } : {}),
          }
        : {}),
    },
    ...(vb365 ? { vb365: vb365.running } : {}),
    tenant: { ...t.tenant },
    admin: { userPrincipalName: admin.userPrincipalName, objectId: admin.id },
    issueAdminToken(o = {}) {
      const upn = (o.userPrincipalName ?? admin.userPrincipalName).toLowerCase();
      const user = t.users.find((u) => u.userPrincipalName.toLowerCase() === upn);
      if (!user)
        throw new Error(`No seeded user ${o.userPrincipalName} in the emulator tenant ${t.tenant.domain}`);
      return mintUserToken(
        ctx,
        t,
        user,
        AZURE_CLI_CLIENT_ID,
        delegatedPermissions(
          // `<graph>/Application.ReadWrite.All` and bare `Application.ReadWrite.All` mean the same scope
          (o.scopes ?? ADMIN_SCOPES).map((s) => s.slice(s.lastIndexOf("/") + 1)),
        ),
      ).token;
    },
    get users() {
      return t.users.map((u) => ({
        userPrincipalName: u.userPrincipalName,
        objectId: u.id,
        roles: [...u.roles],
      }));
    },
    expectedUsage: () => dataset(t.tenant.id).expectedUsage(),
    configure(change) {
      if (change.latencyMs !== undefined) settings.latencyMs = change.latencyMs;
      if ("throttle" in change) settings.throttle = change.throttle;
      if ("graphThrottle" in change) settings.graphThrottle = change.graphThrottle;
      if ("faults" in change) settings.faults = change.faults;
      if (change.tokenLifetimeSeconds !== undefined)
        settings.tokenLifetimeSeconds = change.tokenLifetimeSeconds;
      if (change.replicationDelayMs !== undefined) settings.replicationDelayMs = change.replicationDelayMs;
      if (change.exchangeRoleDelayMs !== undefined) settings.exchangeRoleDelayMs = change.exchangeRoleDelayMs;
    },
    stats: () => ({ ...stats }),
    async close() {
      if (closed) return;
      closed = true;
      await closeAll();
      await vb365?.close();
      await store.flush();
      await tls.dispose();
    },
  };
}

/**
 * Has Exchange applied the token's grants? Exchange configures the session's RBAC from the roles in the
 * token (docs/emulator.md "Propagation"), and a role reaches Exchange `exchangeRoleDelayMs` after it was
 * granted. A token minted before that moment stays refused for its whole lifetime, even once the role has
 * arrived: decided by the token's issue time (`iat`, whole seconds, so a token from the same second as
 * the arrival is refused too — never accepted early) against the newest grant of its service principal.
 */
function authorizationPropagated(ctx: EmulatorContext, claims: AccessTokenClaims): boolean {
  const delay = ctx.settings.exchangeRoleDelayMs;
  if (delay <= 0) return true;
  const t = ctx.store.tenantById(claims.tid);
  if (!t) return true;
  const times = [
    ...t.appRoleAssignments.filter((a) => a.principalId === claims.oid).map((a) => a.createdAtMs),
    ...t.roleAssignments.filter((a) => a.principalId === claims.oid).map((a) => a.createdAtMs),
  ];
  if (times.length === 0) return true;
  return claims.iat * 1000 >= Math.max(...times) + delay;
}
