/**
 * Shapes of the emulated Veeam Backup for Microsoft 365 REST service (docs/emulator-vb365.md): its
 * options, what a running emulator exposes about it, and the truth tests compare reports against.
 */

/** Budgets of the throttled token endpoint; a request past any of them gets 429 "Quota Exceeded". */
export interface Vb365TokenThrottle {
  perSecond?: number;
  perMinute?: number;
  perHour?: number;
}

export interface Vb365Options {
  /** run the VB365 listener (default true when a `vb365` object is given) */
  enabled?: boolean;
  /** API generation the server speaks: 8 (default) serves /v8 and /v7; 7 serves only /v7 */
  version?: 7 | 8;
  /** the one REST user (default `vb365-admin`) */
  username?: string;
  /** its password (default `emulator-vb365`, documented, so `exo-cba emulator` may print it) */
  password?: string;
  /** share of active user mailboxes that are protected (default 0.9) */
  userMailboxShare?: number;
  /** share of active shared, room and equipment mailboxes that are protected (default 0.5) */
  resourceMailboxShare?: number;
  /** share of protected mailboxes with an archive whose archive is protected too (default 0.85) */
  archiveShare?: number;
  /** share of protected mailboxes whose last backup is stale (default 0.05) */
  staleShare?: number;
  /** "stale" means older than this many days; stale backups are at least staleDays + 1 days old (default 2) */
  staleDays?: number;
  /** backed-up mailboxes that no longer exist in Exchange, as a share of the mailbox count (default 0.02) */
  orphanShare?: number;
  /** fraction of the source bytes saved by compression/dedup: stored = source × (1 − dataReduction) (default 0.4) */
  dataReduction?: number;
  /** OneDrive/SharePoint bytes on the object-storage repository, as a share of its stored mail bytes (default 0.6) */
  otherWorkloadsShare?: number;
  /** lifetime of access tokens in seconds: `expires_in` (default 3600, the product default) */
  tokenLifetimeSeconds?: number;
  /** throttle of POST /token (default: none, see docs/emulator-vb365.md) */
  tokenThrottle?: Vb365TokenThrottle;
  /** other organizations (customers) backed up by the same server, on the same repositories (default 1, max 5) */
  otherOrganizations?: number;
}

/** What `RunningEmulator.vb365` tells clients. */
export interface RunningVb365 {
  /** https://127.0.0.1:PORT, the VB365_SERVER value */
  origin: string;
  version: 7 | 8;
  /** the server's self-signed certificate (NOT issued by the emulator CA) */
  certificatePem: string;
  /** where that PEM is on disk, for --vb365-ca-file */
  certificateFile: string;
  /** SHA-256 of the certificate DER, upper-case hex pairs joined by ':' (like openssl -fingerprint) */
  fingerprintSha256: string;
  username: string;
  password: string;
  /** the password is the documented default (safe to print) */
  defaultPassword: boolean;
  /** exact expected backup figures, computed from the generator's parameters */
  expectedBackup(): Vb365Truth;
  /** change token lifetime / throttle while running */
  configure(change: Partial<Pick<Vb365Options, "tokenLifetimeSeconds" | "tokenThrottle">>): void;
  stats(): { tokenRequests: number; requests: number; throttled: number };
}

export interface Vb365RepositoryTruth {
  id: string;
  name: string;
  kind: "local" | "objectStorage";
  /** the organization has data on it (it is in usedRepositories) */
  usedByOrganization: boolean;
  /** usedRepositories / backedupOrganizations figures of the organization on this repository */
  usedSpaceBytes: number;
  localCacheUsedSpaceBytes: number;
  /** null on a repository without object storage */
  objectStorageUsedSpaceBytes: number | null;
  /** MailboxData rows with isArchive false (includes orphaned mailboxes) */
  mailboxRows: number;
  /** MailboxData rows with isArchive true */
  archiveRows: number;
  /** Exchange bytes (TotalItemSize + TotalDeletedItemSize) of the rows that exist in Exchange */
  exchangeBytesOfProtected: number;
  /** bytes of the rows before reduction (existing + orphaned) */
  sourceMailBytes: number;
  /** stored bytes of mail: round(sourceMailBytes × (1 − dataReduction)) */
  storedMailBytes: number;
  /** stored bytes of OneDrive/SharePoint on this repository (0 when none) */
  otherWorkloadBytes: number;
}

export interface Vb365MailboxRef {
  email: string;
  displayName: string;
  /** Exchange RecipientTypeDetails */
  type: string;
}

/** The figures of one organization (the emulator's tenant, or another customer of the same server). */
export interface Vb365OrganizationTruth {
  organization: {
    id: string;
    name: string;
    msid: string;
    backedUpOrganizationId: string;
    officeName: string;
  };
  dataReduction: number;
  staleDays: number;
  /** the "now" backup times are relative to (ms epoch) */
  referenceMs: number;
  repositories: Vb365RepositoryTruth[];
  /** active Exchange mailboxes whose primary mailbox is protected, lower-case emails, dataset order */
  protectedMailboxes: string[];
  /** active Exchange mailboxes whose archive is protected */
  protectedArchives: string[];
  /** active Exchange mailboxes with no backup of the primary mailbox */
  unprotected: Vb365MailboxRef[];
  /** protected active mailboxes whose last backup is older than staleDays */
  stale: Array<{ email: string; backedUpTime: string }>;
  /** backed-up mailboxes that do not exist in Exchange */
  orphaned: Array<{
    email: string;
    displayName: string;
    repositoryId: string;
    backedUpTime: string;
    hasArchive: boolean;
  }>;
  licensedUsers: {
    total: number;
    byState: Record<"Licensed" | "New" | "TemporarilyAssigned" | "Exceeded", number>;
    backedUp: number;
    /** LicensingInformation: licensedUsers (Licensed + TemporarilyAssigned + Exceeded) and newUsers */
    licensingInformation: { licensedUsers: number; newUsers: number };
  };
}

export interface Vb365Truth extends Vb365OrganizationTruth {
  /** the server's other organizations (other customers of an MSP's VB365), with their own figures */
  otherOrganizations: Vb365OrganizationTruth[];
  /** per repository, the sums over ALL organizations (what BackupRepositories reports) */
  repositoryTotals: Array<{
    id: string;
    usedSpaceBytes: number;
    localCacheUsedSpaceBytes: number;
    objectStorageUsedSpaceBytes: number | null;
  }>;
}
