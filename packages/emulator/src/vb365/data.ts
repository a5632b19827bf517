/**
 * The backup side of an emulated tenant (docs/emulator-vb365.md): which of the Exchange dataset's
 * mailboxes a Veeam Backup for Microsoft 365 server holds, on which repository, since when, and what
 * the repositories store. Every decision is a pure function of (seed, mailbox index), like the
 * mailbox data itself; the only per-mailbox memory is one Int32Array of row codes per repository,
 * built on first use (4 bytes per backed-up mailbox or archive).
 */

import type { MailboxDataset, MailboxShape } from "../data/mailboxes.js";
import { between, deterministicGuid, hash32, logNormal, uniform } from "../data/prng.js";
import type { MailboxRecord } from "../types.js";
import type { Vb365MailboxRef, Vb365Options, Vb365OrganizationTruth, Vb365RepositoryTruth } from "./types.js";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** PRNG fields of the backup decisions (distinct from the mailbox generator's). */
const F = {
  protect: 101,
  repository: 102,
  archive: 103,
  stale: 104,
  freshAge: 105,
  staleAge: 106,
  license: 107,
  orphanRepository: 108,
  orphanArchive: 109,
  orphanBytes: 110,
  orphanArchiveBytes: 111,
  orphanAge: 112,
  orphanName: 113,
  guidOrganization: 120,
  guidBackedUpOrganization: 121,
  guidRepository: 122,
  guidObjectStorage: 123,
  guidProxy: 124,
  guidOrphan: 125,
  guidOrphanArchive: 126,
  guidOrphanUser: 127,
} as const;

export const VB365_DEFAULTS = {
  username: "vb365-admin",
  password: "emulator-vb365",
  userMailboxShare: 0.9,
  resourceMailboxShare: 0.5,
  archiveShare: 0.85,
  staleShare: 0.05,
  staleDays: 2,
  orphanShare: 0.02,
  dataReduction: 0.4,
  otherWorkloadsShare: 0.6,
  tokenLifetimeSeconds: 3600,
} as const;

/** Share of protected mailboxes placed on the object-storage repository (the rest on the local one). */
const OBJECT_REPOSITORY_SHARE = 0.6;
/** The object repository's local cache, as a share of what it holds in object storage. */
const CACHE_SHARE = 0.02;
/** Capacity of the JET (local) repositories' volumes. */
export const LOCAL_CAPACITY_BYTES = 8 * 1024 ** 4;

export type LicenseState = "Licensed" | "New" | "TemporarilyAssigned" | "Exceeded";

export interface Vb365Parameters {
  seed: number;
  userMailboxShare: number;
  resourceMailboxShare: number;
  archiveShare: number;
  staleShare: number;
  staleDays: number;
  orphanShare: number;
  dataReduction: number;
  otherWorkloadsShare: number;
  /** backup times are this ms epoch minus an age */
  referenceMs: number;
}

export function vb365Parameters(seed: number, referenceMs: number, o: Vb365Options = {}): Vb365Parameters {
  const share = (name: string, value: number | undefined, fallback: number, max = 1) => {
    const v = value ?? fallback;
    if (!(v >= 0 && v <= max)) throw new RangeError(`vb365.${name} must be from 0 to ${max}: ${v}`);
    return v;
  };
  const staleDays = o.staleDays ?? VB365_DEFAULTS.staleDays;
  if (!Number.isInteger(staleDays) || staleDays < 0) {
    throw new RangeError(`vb365.staleDays must be a whole number >= 0: ${staleDays}`);
  }
  return {
    seed,
    userMailboxShare: share("userMailboxShare", o.userMailboxShare, VB365_DEFAULTS.userMailboxShare),
    resourceMailboxShare: share(
      "resourceMailboxShare",
      o.resourceMailboxShare,
      VB365_DEFAULTS.resourceMailboxShare,
    ),
    archiveShare: share("archiveShare", o.archiveShare, VB365_DEFAULTS.archiveShare),
    staleShare: share("staleShare", o.staleShare, VB365_DEFAULTS.staleShare),
    staleDays,
    orphanShare: share("orphanShare", o.orphanShare, VB365_DEFAULTS.orphanShare),
    dataReduction: share("dataReduction", o.dataReduction, VB365_DEFAULTS.dataReduction, 0.99),
    otherWorkloadsShare: share(
      "otherWorkloadsShare",
      o.otherWorkloadsShare,
      VB365_DEFAULTS.otherWorkloadsShare,
      100,
    ),
    referenceMs,
  };
}

export interface RepositoryInfo {
  id: string;
  name: string;
  description: string;
  kind: "local" | "objectStorage";
  path: string;
  objectStorage?: { id: string; type: "AmazonS3" | "AzureBlob"; name: string };
  /** does the organization keep data here */
  usedByOrganization: boolean;
  /** holds OneDrive/SharePoint data of the organization too */
  otherWorkloads: boolean;
  isLongTerm: boolean;
}

export interface OrganizationInfo {
  id: string;
  backedUpOrganizationId: string;
  msid: string;
  name: string;
  officeName: string;
  proxyId: string;
}

/** One MailboxData row, before shaping for an API version. */
export interface MailboxRow {
  id: string;
  isArchive: boolean;
  displayName: string;
  email: string;
  backedUpTime: string;
  repositoryId: string;
  /** not in Exchange any more */
  orphan: boolean;
  /** Entra object id of the account (LicensedUsers id, UserData accountId) */
  accountId: string;
  accountType: "User" | "SharedMailbox";
  exchangeType: string;
}

export interface RepositoryUsage {
  usedSpaceBytes: number;
  localCacheUsedSpaceBytes: number;
  objectStorageUsedSpaceBytes: number | null;
  /** distinct accounts with a backed-up mailbox here */
  protectedObjectsCount: number;
}

/** The decision for one Exchange mailbox. */
export interface MailboxDecision {
  protected: boolean;
  /** index into the repositories list */
  repository: number;
  archiveProtected: boolean;
  stale: boolean;
  backedUpMs: number;
  licenseState: LicenseState;
}

export interface OrphanRecord {
  index: number;
  email: string;
  displayName: string;
  repository: number;
  hasArchive: boolean;
  primaryBytes: number;
  archiveBytes: number;
  backedUpMs: number;
  licenseState: LicenseState;
  guid: string;
  archiveGuid: string;
  accountId: string;
}

export interface Vb365Dataset {
  readonly parameters: Vb365Parameters;
  readonly organization: OrganizationInfo;
  readonly repositories: readonly RepositoryInfo[];
  /** MailboxData rows of the organization on a repository, as codes (see `row`) */
  rows(repository: number): Int32Array;
  row(code: number): MailboxRow;
  usage(repository: number): RepositoryUsage;
  /** LicensedUsers of the organization, as codes (mailbox index, or count + orphan index) */
  licensedUsers(): Int32Array;
  /** how many licensed users are in each state (counted while building, for LicensingInformation) */
  licenseStates(): Readonly<Record<LicenseState, number>>;
  licensedUser(code: number): {
    id: string;
    name: string;
    lastBackupDate: string;
    licenseState: LicenseState;
  };
  decide(index: number): MailboxDecision;
  orphan(k: number): OrphanRecord;
  readonly orphanCount: number;
  /** independent re-computation of every figure of this organization, for tests */
  expectedBackup(): Vb365OrganizationTruth;
}

const MAIL_ELIGIBLE = new Set(["UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox"]);

function licenseStateOf(u: number): LicenseState {
  if (u < 0.85) return "Licensed";
  if (u < 0.93) return "New";
  if (u < 0.98) return "TemporarilyAssigned";
  return "Exceeded";
}

const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString();

/** Source bytes of a mailbox's primary (items + recoverable items) or archive. */
const bytesOf = (s: MailboxRecord["primary"] | undefined) => (s ? s.totalItemBytes + s.deletedItemBytes : 0);

export function createVb365Dataset(options: {
  mailboxes: MailboxDataset;
  tenantId: string;
  domain: string;
  parameters: Vb365Parameters;
  /** the server's repositories, when another organization's dataset defined them (shared by all) */
  repositories?: readonly RepositoryInfo[];
}): Vb365Dataset {
  const { mailboxes, tenantId, domain, parameters: p } = options;
  const count = mailboxes.count;
  const seed = p.seed;
  const guidSeed = [...tenantId].reduce((h, ch) => hash32(h, ch.charCodeAt(0), 7), seed ^ 0x5eed);
  const guid = (index: number, field: number) => deterministicGuid(guidSeed, index, field);
  const orphanCount = Math.round(count * p.orphanShare);
  const width = Math.max(6, String(Math.max(orphanCount - 1, 0)).length);

  const organization: OrganizationInfo = {
    id: guid(0, F.guidOrganization),
    backedUpOrganizationId: guid(0, F.guidBackedUpOrganization),
    msid: tenantId,
    name: domain,
    officeName: domain.replace(/\.onmicrosoft\.com$/i, ""),
    proxyId: guid(0, F.guidProxy),
  };

  const repositories: readonly RepositoryInfo[] = options.repositories ?? [
    {
      id: guid(0, F.guidRepository),
      name: "Local Repository 01",
      description: "JET repository on the backup proxy",
      kind: "local",
      path: "E:\\VeeamRepository\\Mail",
      usedByOrganization: true,
      otherWorkloads: false,
      isLongTerm: false,
    },
    {
      id: guid(1, F.guidRepository),
      name: "Object Repository 01",
      description: "Amazon S3 bucket with a local cache",
      kind: "objectStorage",
      path: "E:\\VeeamRepository\\ObjectCache01",
      objectStorage: { id: guid(1, F.guidObjectStorage), type: "AmazonS3", name: "s3-vb365-backups" },
      usedByOrganization: true,
      otherWorkloads: true,
      isLongTerm: false,
    },
    {
      id: guid(2, F.guidRepository),
      name: "Archive Copy Repository",
      description: "Azure Blob backup copy target, not used by this organization",
      kind: "objectStorage",
      path: "E:\\VeeamRepository\\ObjectCache02",
      objectStorage: { id: guid(2, F.guidObjectStorage), type: "AzureBlob", name: "vb365-copy" },
      usedByOrganization: false,
      otherWorkloads: false,
      isLongTerm: true,
    },
  ];

  function decideMailbox(index: number, m: MailboxShape): MailboxDecision {
    const eligible = !m.inactive && MAIL_ELIGIBLE.has(m.type);
    const share = m.type === "UserMailbox" ? p.userMailboxShare : p.resourceMailboxShare;
    const isProtected = eligible && uniform(seed, index, F.protect) < share;
    const stale = isProtected && uniform(seed, index, F.stale) < p.staleShare;
    const age = stale
      ? (p.staleDays + 1) * DAY_MS + between(seed, index, F.staleAge, 0, 30 * DAY_MS)
      : between(seed, index, F.freshAge, 5 * 60_000, 20 * HOUR_MS);
    return {
      protected: isProtected,
      repository: uniform(seed, index, F.repository) < OBJECT_REPOSITORY_SHARE ? 1 : 0,
      archiveProtected:
        isProtected && m.archive !== undefined && uniform(seed, index, F.archive) < p.archiveShare,
      stale,
      backedUpMs: p.referenceMs - Math.floor(age),
      licenseState: licenseStateOf(uniform(seed, index, F.license)),
    };
  }

  function orphan(k: number): OrphanRecord {
    if (!Number.isInteger(k) || k < 0 || k >= orphanCount)
      throw new RangeError(`orphan ${k} outside 0..${orphanCount - 1}`);
    const i = count + k;
    const n = String(k).padStart(width, "0");
    const hasArchive = uniform(seed, i, F.orphanArchive) < 0.3;
    return {
      index: k,
      email: `former${n}@${domain}`.toLowerCase(),
      displayName: `Former Employee ${n}`,
      repository: uniform(seed, i, F.orphanRepository) < OBJECT_REPOSITORY_SHARE ? 1 : 0,
      hasArchive,
      primaryBytes: Math.round(Math.max(50_000, logNormal(seed, i, F.orphanBytes, 800e6, 1.0))),
      archiveBytes: hasArchive
        ? Math.round(Math.max(1_000_000, logNormal(seed, i, F.orphanArchiveBytes, 2e9, 1.0)))
        : 0,
      // deleted from Exchange 5 to 200 days ago: the last backup is from before that
      backedUpMs: p.referenceMs - Math.floor(between(seed, i, F.orphanAge, 5 * DAY_MS, 200 * DAY_MS)),
      licenseState: licenseStateOf(uniform(seed, i, F.license)),
      guid: guid(k, F.guidOrphan),
      archiveGuid: guid(k, F.guidOrphanArchive),
      accountId: guid(k, F.guidOrphanUser),
    };
  }

  // ---- row codes: mailbox index × 2 + isArchive; orphans: (count + k) × 2 + isArchive ----
  if ((count + orphanCount) * 2 >= 2 ** 31) throw new RangeError("tenant too large for the VB365 emulator");
  interface Built {
    rows: Int32Array[];
    licensed: Int32Array;
    /** source bytes of every row, summed per repository while building */
    sourceBytes: number[];
    licenseStates: Record<LicenseState, number>;
  }
  let built: Built | undefined;

  /** One pass over the mailboxes' numeric shapes (no strings): the row lists and their byte sums. */
  function build(): Built {
    if (built) return built;
    const lists = repositories.map(() => [] as number[]);
    const sourceBytes = repositories.map(() => 0);
    const licensed: number[] = [];
    const licenseStates: Record<LicenseState, number> = {
      Licensed: 0,
      New: 0,
      TemporarilyAssigned: 0,
      Exceeded: 0,
    };
    for (let i = 0; i < count; i++) {
      const m = mailboxes.shape(i);
      const d = decideMailbox(i, m);
      if (!d.protected) continue;
      lists[d.repository]!.push(i * 2);
      sourceBytes[d.repository]! += bytesOf(m.primary);
      if (d.archiveProtected) {
        lists[d.repository]!.push(i * 2 + 1);
        sourceBytes[d.repository]! += bytesOf(m.archive);
      }
      if (m.type === "UserMailbox") {
        licensed.push(i);
        licenseStates[d.licenseState]++;
      }
    }
    for (let k = 0; k < orphanCount; k++) {
      const o = orphan(k);
      lists[o.repository]!.push((count + k) * 2);
      sourceBytes[o.repository]! += o.primaryBytes;
      if (o.hasArchive) {
        lists[o.repository]!.push((count + k) * 2 + 1);
        sourceBytes[o.repository]! += o.archiveBytes;
      }
      licensed.push(count + k);
      licenseStates[o.licenseState]++;
    }
    built = {
      rows: lists.map((l) => Int32Array.from(l)),
      licensed: Int32Array.from(licensed),
      sourceBytes,
      licenseStates,
    };
    return built;
  }

  function row(code: number): MailboxRow {
    const index = code >> 1;
    const isArchive = (code & 1) === 1;
    if (index >= count) {
      const o = orphan(index - count);
      return {
        id: isArchive ? o.archiveGuid : o.guid,
        isArchive,
        displayName: isArchive ? `In-Place Archive - ${o.displayName}` : o.displayName,
        email: o.email,
        backedUpTime: iso(o.backedUpMs),
        repositoryId: repositories[o.repository]!.id,
        orphan: true,
        accountId: o.accountId,
        accountType: "User",
        exchangeType: "UserMailbox",
      };
    }
    const m = mailboxes.mailbox(index);
    const d = decideMailbox(index, mailboxes.shape(index));
    return {
      id: isArchive ? m.archiveGuid : m.guid,
      isArchive,
      displayName: isArchive ? `In-Place Archive - ${m.displayName}` : m.displayName,
      email: m.primarySmtpAddress.toLowerCase(),
      backedUpTime: iso(d.backedUpMs),
      repositoryId: repositories[d.repository]!.id,
      orphan: false,
      accountId: m.externalDirectoryObjectId,
      accountType: m.recipientTypeDetails === "UserMailbox" ? "User" : "SharedMailbox",
      exchangeType: m.recipientTypeDetails,
    };
  }

  const usageCache = new Map<number, RepositoryUsage>();
  function usage(r: number): RepositoryUsage {
    const cached = usageCache.get(r);
    if (cached) return cached;
    const repo = repositories[r]!;
    const b = build();
    const source = b.sourceBytes[r]!;
    let accounts = 0;
    for (const code of b.rows[r]!) if ((code & 1) === 0) accounts++;
    const mail = Math.round(source * (1 - p.dataReduction));
    const other = repo.otherWorkloads ? Math.round(mail * p.otherWorkloadsShare) : 0;
    const stored = mail + other;
    const u: RepositoryUsage =
      repo.kind === "local"
        ? {
            usedSpaceBytes: stored,
            localCacheUsedSpaceBytes: 0,
            objectStorageUsedSpaceBytes: null,
            protectedObjectsCount: accounts,
          }
        : {
            usedSpaceBytes: 0,
            localCacheUsedSpaceBytes: Math.round(stored * CACHE_SHARE),
            objectStorageUsedSpaceBytes: stored,
            protectedObjectsCount: accounts,
          };
    usageCache.set(r, u);
    return u;
  }

  function licensedUser(code: number) {
    if (code >= count) {
      const o = orphan(code - count);
      return {
        id: o.accountId,
        name: o.email,
        lastBackupDate: iso(o.backedUpMs),
        licenseState: o.licenseState,
      };
    }
    const m = mailboxes.mailbox(code);
    const d = decideMailbox(code, mailboxes.shape(code));
    return {
      id: m.externalDirectoryObjectId,
      name: m.userPrincipalName.toLowerCase(),
      lastBackupDate: iso(d.backedUpMs),
      licenseState: d.licenseState,
    };
  }

  /**
   * Every figure again, in one pass over the decisions, without the row lists or `usage()`: what a
   * correct client must report.
   */
  function expectedBackup(): Vb365OrganizationTruth {
    const source = repositories.map(() => 0);
    const exchangeBytes = repositories.map(() => 0);
    const mailboxRows = repositories.map(() => 0);
    const archiveRows = repositories.map(() => 0);
    const protectedMailboxes: string[] = [];
    const protectedArchives: string[] = [];
    const unprotected: Vb365MailboxRef[] = [];
    const stale: Vb365OrganizationTruth["stale"] = [];
    const orphaned: Vb365OrganizationTruth["orphaned"] = [];
    const byState: Vb365OrganizationTruth["licensedUsers"]["byState"] = {
      Licensed: 0,
      New: 0,
      TemporarilyAssigned: 0,
      Exceeded: 0,
    };
    for (let i = 0; i < count; i++) {
      const m = mailboxes.mailbox(i);
      if (m.inactive) continue;
      const email = m.primarySmtpAddress.toLowerCase();
      const d = decideMailbox(i, {
        type: m.recipientTypeDetails,
        inactive: m.inactive,
        neverLoggedOn: m.lastLogonTime === null,
        noStatistics: m.noStatistics,
        primary: m.primary,
        archive: m.archive,
      });
      if (!d.protected) {
        unprotected.push({ email, displayName: m.displayName, type: m.recipientTypeDetails });
        continue;
      }
      protectedMailboxes.push(email);
      mailboxRows[d.repository]!++;
      let bytes = m.primary.totalItemBytes + m.primary.deletedItemBytes;
      if (d.archiveProtected && m.archive) {
        protectedArchives.push(email);
        archiveRows[d.repository]!++;
        bytes += m.archive.totalItemBytes + m.archive.deletedItemBytes;
      }
      source[d.repository]! += bytes;
      exchangeBytes[d.repository]! += bytes;
      if (d.stale) stale.push({ email, backedUpTime: iso(d.backedUpMs) });
      if (m.recipientTypeDetails === "UserMailbox") byState[d.licenseState]++;
    }
    for (let k = 0; k < orphanCount; k++) {
      const o = orphan(k);
      mailboxRows[o.repository]!++;
      source[o.repository]! += o.primaryBytes;
      if (o.hasArchive) {
        archiveRows[o.repository]!++;
        source[o.repository]! += o.archiveBytes;
      }
      orphaned.push({
        email: o.email,
        displayName: o.displayName,
        repositoryId: repositories[o.repository]!.id,
        backedUpTime: iso(o.backedUpMs),
        hasArchive: o.hasArchive,
      });
      byState[o.licenseState]++;
    }
    const repoTruth: Vb365RepositoryTruth[] = repositories.map((repo, r) => {
      const storedMailBytes = Math.round(source[r]! * (1 - p.dataReduction));
      const otherWorkloadBytes = repo.otherWorkloads
        ? Math.round(storedMailBytes * p.otherWorkloadsShare)
        : 0;
      const total = storedMailBytes + otherWorkloadBytes;
      const local = repo.kind === "local";
      return {
        id: repo.id,
        name: repo.name,
        kind: repo.kind,
        usedByOrganization: repo.usedByOrganization,
        usedSpaceBytes: local ? total : 0,
        localCacheUsedSpaceBytes: local ? 0 : Math.round(total * CACHE_SHARE),
        objectStorageUsedSpaceBytes: local ? null : total,
        mailboxRows: mailboxRows[r]!,
        archiveRows: archiveRows[r]!,
        exchangeBytesOfProtected: exchangeBytes[r]!,
        sourceMailBytes: source[r]!,
        storedMailBytes,
        otherWorkloadBytes,
      };
    });
    const total = byState.Licensed + byState.New + byState.TemporarilyAssigned + byState.Exceeded;
    return {
      organization: {
        id: organization.id,
        name: organization.name,
        msid: organization.msid,
        backedUpOrganizationId: organization.backedUpOrganizationId,
        officeName: organization.officeName,
      },
      dataReduction: p.dataReduction,
      staleDays: p.staleDays,
      referenceMs: p.referenceMs,
      repositories: repoTruth,
      protectedMailboxes,
      protectedArchives,
      unprotected,
      stale,
      orphaned,
      licensedUsers: {
        total,
        byState,
        backedUp: total,
        licensingInformation: {
          licensedUsers: byState.Licensed + byState.TemporarilyAssigned + byState.Exceeded,
          newUsers: byState.New,
        },
      },
    };
  }

  return {
    parameters: p,
    organization,
    repositories,
    rows: (r) => build().rows[r] ?? new Int32Array(0),
    row,
    usage,
    licensedUsers: () => build().licensed,
    licenseStates: () => build().licenseStates,
    licensedUser,
    decide: (index) => decideMailbox(index, mailboxes.shape(index)),
    orphan,
    orphanCount,
    expectedBackup,
  };
}
