import type { RunningVb365, Vb365Options } from "./vb365/types.js";

export type { RunningVb365, Vb365Options, Vb365Truth } from "./vb365/types.js";

/**
 * Shared shapes of the emulator. `index.ts` (server, identity, Graph) and `exchange/` + `data/`
 * (Exchange Online, mailbox data, faults) meet here; tests, the demo and benchmarks use
 * `EmulatorOptions` / `RunningEmulator`.
 */

/** Claims of an access token the emulator issues (v1-style, like Exchange app-only tokens). */
export interface AccessTokenClaims {
  aud: string;
  iss: string;
  tid: string;
  /** client id of the caller */
  appid: string;
  /** object id: the service principal (app-only) or the user (delegated) */
  oid: string;
  idtyp: "app" | "user";
  /** app roles granted to the service principal, e.g. ["Exchange.ManageAsApp"] */
  roles?: string[];
  /** directory role template ids of the service principal or user */
  wids?: string[];
  /** delegated scopes, space separated (user tokens) */
  scp?: string;
  upn?: string;
  /** "2" when a client certificate authenticated the app */
  appidacr?: string;
  iat: number;
  nbf: number;
  exp: number;
  /** unique token id */
  uti?: string;
}

export interface TenantInfo {
  id: string;
  /** initial domain, e.g. contoso.onmicrosoft.com */
  domain: string;
  displayName: string;
}

/** One generated mailbox (what Get-Mailbox / Get-MailboxStatistics report about it). */
export interface MailboxRecord {
  index: number;
  guid: string;
  externalDirectoryObjectId: string;
  displayName: string;
  alias: string;
  userPrincipalName: string;
  primarySmtpAddress: string;
  recipientTypeDetails:
    | "UserMailbox"
    | "SharedMailbox"
    | "RoomMailbox"
    | "EquipmentMailbox"
    | "DiscoveryMailbox";
  /** inactive (soft-deleted / on hold); only listed with -InactiveMailboxOnly / -IncludeInactiveMailbox */
  inactive: boolean;
  archiveStatus: "Active" | "None";
  archiveGuid: string;
  primary: { totalItemBytes: number; itemCount: number; deletedItemBytes: number; deletedItemCount: number };
  archive?: { totalItemBytes: number; itemCount: number; deletedItemBytes: number; deletedItemCount: number };
  /** ISO time or null (never logged on) */
  lastLogonTime: string | null;
  /**
   * Never logged on and no mailbox store data yet: Get-MailboxStatistics answers only a warning and no
   * object. Such a mailbox holds nothing (its primary numbers are 0, it has no archive).
   */
  noStatistics: boolean;
  whenCreatedUtc: string;
}

/**
 * The exact numbers a correct usage report must produce for a generated tenant, computed by the
 * generator from its seed (not by the report code). Inactive mailboxes are counted separately and
 * are NOT included in mailboxesByType or the byte totals (Get-Mailbox does not list them by default).
 */
export interface UsageTruth {
  /** every recipient Get-Recipient -ResultSize Unlimited lists (active mailboxes + mail users, contacts, groups) */
  recipients: number;
  /** active mailboxes */
  mailboxes: number;
  mailboxesByType: Record<string, number>;
  inactiveMailboxes: number;
  archives: number;
  primaryBytes: number;
  primaryItems: number;
  deletedBytes: number;
  deletedItems: number;
  /** Σ archive TotalItemSize over active mailboxes with an archive */
  archiveBytes: number;
  archiveItems: number;
  /** Σ archive TotalDeletedItemSize */
  archiveDeletedBytes: number;
  /** primaryBytes + deletedBytes + archiveBytes + archiveDeletedBytes */
  totalProtectedBytes: number;
  /** active mailboxes whose statistics are only a "never logged on" warning (counted with 0 bytes, 0 items) */
  mailboxesWithoutStatistics: number;
}

export interface ThrottleOptions {
  /** concurrent requests allowed per tenant (every app of the tenant together); excess gets 429 */
  concurrency?: number;
  /** sustained requests per second per tenant (token bucket); excess gets 429 */
  ratePerSecond?: number;
  /** burst size of the bucket (default: ratePerSecond) */
  burst?: number;
}

export interface FaultOptions {
  /** probability (0..1) that an Exchange request gets a 503 or 504 */
  errorRate?: number;
  /** probability (0..1) that an Exchange request's connection is destroyed without an answer */
  dropRate?: number;
  /** probability (0..1) that an Exchange request gets a 429 regardless of any budget (sparse, random throttling) */
  throttleRate?: number;
  /** Retry-After of those 429s, in seconds (default 1) */
  throttleRetryAfterSeconds?: number;
  /** deterministic fault sequence */
  seed?: number;
  /** which services faults apply to (default: ["exchange"]) */
  services?: Array<"identity" | "graph" | "exchange">;
}

export interface EmulatorOptions {
  /** first port (identity); Graph is port+1, Exchange port+2. 0 (default) picks three free ports. */
  port?: number;
  host?: string;
  /** persist tenants, apps, service principals, assignments, keys and the CA here */
  stateDir?: string;
  /** seed of generated data (default 1) */
  seed?: number;
  /** mailboxes in the default tenant (default 50) */
  mailboxes?: number;
  /** default tenant (default contoso.onmicrosoft.com with a fixed GUID) */
  tenantDomain?: string;
  /** added per-request latency in ms on every service */
  latencyMs?: number;
  /** Exchange throttling, one budget per tenant */
  throttle?: ThrottleOptions;
  /** Graph throttling under load, one budget per tenant: 429 + Retry-After (whole seconds, as Graph sends) */
  graphThrottle?: ThrottleOptions;
  faults?: FaultOptions;
  /** lifetime of issued access tokens (default 3599 s) */
  tokenLifetimeSeconds?: number;
  /**
   * Directory replication (seconds in reality): for this long after creation a new application is
   * unknown to the token endpoint and to reads by id, a new service principal cannot receive grants,
   * and a new key credential is refused (AADSTS700027). Default 0.
   */
  replicationDelayMs?: number;
  /**
   * Exchange role propagation (minutes in reality): Exchange refuses (403) every token minted less than
   * this long after the service principal's newest grant, for the token's whole lifetime; only a token
   * fetched later works. Default 0.
   */
  exchangeRoleDelayMs?: number;
  /** device code sign-in: approved at once as the default admin (default true), or through the emulator's page */
  deviceCodeAutoApprove?: boolean;
  /** also run the Veeam Backup for Microsoft 365 REST service (port+3), see docs/emulator-vb365.md */
  vb365?: Vb365Options;
}

export interface RunningEmulator {
  authorityHost: string;
  graphEndpoint: string;
  exchangeEndpoint: string;
  /** PEM of the emulator's CA, to trust in-process (`new HttpTransport({ caPem: [emu.caPem] })`) */
  caPem: string;
  /** path of the CA PEM on disk (state dir, or a temp file) — for NODE_EXTRA_CA_CERTS of child processes */
  caFile: string;
  /** the lines `exo-cba emulator` prints: EXO_AUTHORITY_HOST, EXO_GRAPH_ENDPOINT, EXO_EXCHANGE_ENDPOINT, EXO_ORGANIZATION, NODE_EXTRA_CA_CERTS */
  env: Record<string, string>;
  tenant: TenantInfo;
  /** the default admin user (Global Administrator) */
  admin: { userPrincipalName: string; objectId: string };
  /**
   * Mint a delegated Graph token for a user of the tenant (default: the Global Administrator), as
   * device-code sign-in would return it: for EXO_ADMIN_ACCESS_TOKEN in tests and the demo.
   * `userPrincipalName` picks another seeded user (see `users`).
   */
  issueAdminToken(options?: { userPrincipalName?: string; scopes?: string[] }): string;
  /** seeded users and their directory roles (template ids), for authorization tests */
  users: Array<{ userPrincipalName: string; objectId: string; roles: string[] }>;
  /** exact expected report numbers for the tenant's generated data */
  expectedUsage(): UsageTruth;
  /** the VB365 REST service, when started with `vb365` (its truth: `vb365.expectedBackup()`) */
  vb365?: RunningVb365;
  /** change behaviour while running (tests switch faults on mid-run) */
  configure(
    options: Partial<
      Pick<
        EmulatorOptions,
        | "latencyMs"
        | "throttle"
        | "graphThrottle"
        | "faults"
        | "tokenLifetimeSeconds"
        | "replicationDelayMs"
        | "exchangeRoleDelayMs"
      >
    >,
  ): void;
  /** counters for assertions and benchmarks */
  stats(): {
    tokenRequests: number;
    graphRequests: number;
    exchangeRequests: number;
    throttled: number;
    graphThrottled: number;
    faultsInjected: number;
  };
  close(): Promise<void>;
}
