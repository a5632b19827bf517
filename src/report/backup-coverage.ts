/**
 * The backup half of the usage report (docs/report.md "Backup coverage"): VB365's view of one
 * organization joined with the Exchange mailboxes by e-mail address. Pure: the snapshot and the
 * Exchange rows in, the section out; the Exchange rows get their Protected/LastBackup fields.
 */
import type { BackupSnapshot, LicensedUsers, ProtectedEntry, Vb365RepositoryUsage } from "../vb365/backup.js";
import { divide } from "./aggregate.js";
import type { MailboxUsage, TenantCounts } from "./types.js";
import { toMB, type Vb365ColumnsRow, vb365Columns } from "./vb365-columns.js";

export const DEFAULT_STALE_DAYS = 2;

export const BACKUP_FORMULAS = {
  storedBytes:
    "storedBytes = Σ over the repositories of (objectStorageUsedSpaceBytes when above 0, else usedSpaceBytes) — the original script's rule",
  protectedExchangeBytes:
    "protectedExchangeBytes = Σ over the protected mailboxes found in Exchange of primaryBytes + deletedBytes, + archiveBytes + archiveDeletedBytes when the archive is protected too",
  dataReduction:
    "dataReductionPercent = (protectedExchangeBytes − storedBytes) / protectedExchangeBytes × 100 (n/a when protectedExchangeBytes is 0; negative when the backup is larger)",
  storedPerMailbox:
    "storedBytesPerProtectedMailbox = storedBytes / protectedMailboxes (n/a when no mailbox is protected)",
  stale:
    "stale = protected mailbox in Exchange whose newest backup is older than staleDays × 24 h before the report (or has no backup time)",
} as const;

export interface CoverageMailbox {
  identity: string;
  displayName: string;
  recipientTypeDetails: string;
}

export interface RepositoryCoverage extends Vb365RepositoryUsage {
  /** objectStorageUsedSpaceBytes when above 0, else usedSpaceBytes */
  storedBytes: number;
  source: "MailboxData" | "UserData" | null;
  /** backed-up primary mailbox items of the organization on this repository */
  protectedMailboxes: number;
  protectedArchives: number;
  otherWorkloads: boolean | null;
  /** the original script's seven columns for this repository */
  scriptColumns: Vb365ColumnsRow;
}

export interface BackupGrowth {
  from: string;
  to: string;
  days: number;
  storedFirstBytes: number;
  storedLastBytes: number;
  storedGrowthBytes: number;
  protectedExchangeFirstBytes: number;
  protectedExchangeLastBytes: number;
  protectedExchangeGrowthBytes: number;
  runs: number;
}

export interface BackupCoverage {
  status: "complete";
  server: string;
  apiVersion: string;
  organization: { id: string; name: string };
  readAt: string;
  repositories: RepositoryCoverage[];
  totals: {
    usedSpaceBytes: number;
    localCacheUsedSpaceBytes: number;
    objectStorageUsedSpaceBytes: number;
    storedBytes: number;
  };
  /** distinct addresses whose primary mailbox is backed up on the repositories (orphaned ones included) */
  protectedMailboxes: number;
  /** distinct addresses whose archive is backed up */
  protectedArchives: number;
  /** protected mailboxes that exist in Exchange */
  protectedInExchange: number;
  mailboxesInExchange: number;
  protectedExchangeBytes: number;
  /** primary + deleted items + archives of every measured mailbox (the report's total) */
  allMailboxesBytes: number;
  dataReductionPercent: number | null;
  storedBytesPerProtectedMailbox: number | null;
  /** true when the repositories hold other workloads of the organization (OneDrive, SharePoint, Teams) */
  otherWorkloads: boolean | null;
  /** said next to the reduction figure */
  reductionNote: string;
  licensedUsers: LicensedUsers | null;
  unprotected: { count: number; byType: Record<string, number>; mailboxes: CoverageMailbox[] };
  /** mailboxes that are protected but whose archive is not */
  unprotectedArchives: { count: number; mailboxes: CoverageMailbox[] };
  stale: {
    days: number;
    count: number;
    mailboxes: Array<CoverageMailbox & { lastBackup: string | null }>;
  };
  /** backed up, but no such mailbox in Exchange (deleted or renamed) */
  orphaned: {
    count: number;
    mailboxes: Array<{ email: string; displayName: string; lastBackup: string | null; archiveOnly: boolean }>;
  };
  growth: BackupGrowth | null;
  warnings: string[];
  formulas: typeof BACKUP_FORMULAS;
}

/** The backup section could not be made: says why, the Exchange half stays. */
export interface BackupMissing {
  status: "missing";
  server: string;
  reason: string;
  hint?: string;
}

export type BackupSection = BackupCoverage | BackupMissing;

export function backupMissing(server: string, error: Error): BackupMissing {
  const hint = (error as { hint?: unknown }).hint;
  return { status: "missing", server, reason: error.message, ...(typeof hint === "string" ? { hint } : {}) };
}

const newer = (a: string | null, b: string | null): string | null => {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
};

const storedOf = (r: Vb365RepositoryUsage) =>
  r.objectStorageUsedSpaceBytes > 0 ? r.objectStorageUsedSpaceBytes : r.usedSpaceBytes;

const OTHER_WORKLOADS_NOTE =
  "The repositories also hold other workloads of this organization (OneDrive, SharePoint or Teams): the stored bytes include them, so the reduction is not mail-only and understates the real mail reduction.";
const MAIL_ONLY_NOTE =
  "The repositories hold only mailbox data of this organization as far as VB365 reports.";
const UNKNOWN_NOTE =
  "Repository usage covers every workload of the organization on the repository; whether other workloads are there could not be told, so the reduction may not be mail-only.";

export interface CoverageInput {
  snapshot: BackupSnapshot;
  counts: TenantCounts;
  /** the measured mailboxes, in listing order: one pass, nothing kept per mailbox but the lists */
  mailboxes: Iterable<MailboxUsage>;
  allMailboxesBytes: number;
  staleDays?: number;
  now: Date;
  /** the join to use (made from `snapshot` when not given) */
  join?: BackupJoin;
}

/**
 * The backup lists by lower-case address, unioned over the repositories. With one repository its own
 * map is used as it is; only several repositories need a merged copy (docs/report.md "Memory").
 */
export interface BackupJoin {
  /** the backup entry of a mailbox: by its identity, else by its primary SMTP address */
  lookup(m: MailboxUsage): ProtectedEntry | undefined;
  /** set the row's Protected / ArchiveProtected / LastBackup fields */
  annotate(m: MailboxUsage): void;
  readonly merged: ReadonlyMap<string, ProtectedEntry>;
}

export function createBackupJoin(snapshot: BackupSnapshot): BackupJoin {
  let merged: Map<string, ProtectedEntry>;
  if (snapshot.protection.length === 1) merged = snapshot.protection[0]!.entries;
  else {
    // An address on one repository only (the usual case) keeps that repository's entry; an address on
    // several gets one merged copy (the repositories' own entries stay as they are, for their columns).
    merged = new Map();
    const copied = new Set<ProtectedEntry>();
    for (const p of snapshot.protection) {
      for (const e of p.entries.values()) {
        let m = merged.get(e.email);
        if (!m) {
          merged.set(e.email, e);
          continue;
        }
        if (!copied.has(m)) {
          m = { ...m };
          copied.add(m);
          merged.set(e.email, m);
        }
        m.primary ||= e.primary;
        m.archive ||= e.archive;
        m.primaryBackedUp = newer(m.primaryBackedUp, e.primaryBackedUp);
        m.archiveBackedUp = newer(m.archiveBackedUp, e.archiveBackedUp);
      }
    }
  }
  const lookup = (m: MailboxUsage) =>
    merged.get(m.identity.toLowerCase()) ?? (m.smtp ? merged.get(m.smtp.toLowerCase()) : undefined);
  return {
    merged,
    lookup,
    annotate(m) {
      const b = lookup(m);
      m.protected = b?.primary === true;
      m.archiveProtected = m.hasArchive ? b?.archive === true : null;
      m.lastBackup = b?.primary ? b.primaryBackedUp : null;
    },
  };
}

/**
 * Join the backup lists with the Exchange rows, in one pass over the rows (which also get `protected`,
 * `archiveProtected`, `lastBackup`; rows read from the history are fresh objects, so the report's files
 * get those fields from `BackupJoin.annotate` instead).
 */
export function computeCoverage(input: CoverageInput): BackupCoverage {
  const { snapshot } = input;
  const staleDays = input.staleDays ?? DEFAULT_STALE_DAYS;
  const join = input.join ?? createBackupJoin(snapshot);
  const { merged } = join;
  /** entries some Exchange mailbox matched (the others are orphaned) */
  const matched = new Set<ProtectedEntry>();
  const staleBefore = input.now.getTime() - staleDays * 86_400_000;
  const unprotected: CoverageMailbox[] = [];
  const byType: Record<string, number> = {};
  const unprotectedArchives: CoverageMailbox[] = [];
  const stale: Array<CoverageMailbox & { lastBackup: string | null }> = [];
  let protectedExchangeBytes = 0;
  let protectedInExchange = 0;
  let mailboxesInExchange = 0;
  // The script's column 3 per repository: ToMB() of the two sizes of each mailbox backed up there,
  // found by either of its addresses.
  const sizeMB = snapshot.protection.map(() => 0);
  for (const m of input.mailboxes) {
    mailboxesInExchange++;
    const b = join.lookup(m);
    if (b) matched.add(b);
    join.annotate(m);
    const info: CoverageMailbox = {
      identity: m.identity,
      displayName: m.displayName,
      recipientTypeDetails: m.recipientTypeDetails,
    };
    if (b?.primary) {
      protectedInExchange++;
      protectedExchangeBytes += m.primaryBytes + m.deletedBytes;
      if (!b.primaryBackedUp || Date.parse(b.primaryBackedUp) < staleBefore)
        stale.push({ ...info, lastBackup: b.primaryBackedUp });
      if (m.hasArchive && !b.archive) unprotectedArchives.push(info);
    } else {
      unprotected.push(info);
      byType[m.recipientTypeDetails] = (byType[m.recipientTypeDetails] ?? 0) + 1;
    }
    if (b?.archive) protectedExchangeBytes += (m.archiveBytes ?? 0) + (m.archiveDeletedBytes ?? 0);
    const identity = m.identity.toLowerCase();
    const smtp = m.smtp?.toLowerCase();
    const mb = toMB(m.primaryBytes) + toMB(m.deletedBytes);
    snapshot.protection.forEach((p, i) => {
      if (p.entries.get(identity)?.primary) sizeMB[i]! += mb;
      if (smtp !== undefined && p.entries.get(smtp)?.primary) sizeMB[i]! += mb;
    });
  }
  const orphaned: BackupCoverage["orphaned"]["mailboxes"] = [];
  let protectedMailboxes = 0;
  let protectedArchives = 0;
  for (const [email, b] of merged) {
    if (b.primary) protectedMailboxes++;
    if (b.archive) protectedArchives++;
    if (!matched.has(b)) {
      orphaned.push({
        email,
        displayName: b.displayName,
        lastBackup: b.primary ? b.primaryBackedUp : b.archiveBackedUp,
        archiveOnly: !b.primary,
      });
    }
  }

  const protectionById = new Map(snapshot.protection.map((p, i) => [p.repositoryId.toLowerCase(), i]));
  const repositories: RepositoryCoverage[] = snapshot.repositories.map((r) => {
    const index = protectionById.get(r.id.toLowerCase());
    const p = index === undefined ? undefined : snapshot.protection[index];
    return {
      ...r,
      storedBytes: storedOf(r),
      source: p?.source ?? null,
      protectedMailboxes: p?.primaryItems ?? 0,
      protectedArchives: p?.archiveItems ?? 0,
      otherWorkloads: p?.otherWorkloads ?? null,
      scriptColumns: vb365Columns({
        recipients: input.counts.recipients,
        backedUpMailboxes: p?.primaryItems ?? 0,
        mailboxSizeMB: index === undefined ? 0 : sizeMB[index]!,
        usedSpaceBytes: r.usedSpaceBytes,
        objectStorageUsedSpaceBytes: r.objectStorageUsedSpaceBytes,
      }),
    };
  });
  const totals = {
    usedSpaceBytes: 0,
    localCacheUsedSpaceBytes: 0,
    objectStorageUsedSpaceBytes: 0,
    storedBytes: 0,
  };
  for (const r of repositories) {
    totals.usedSpaceBytes += r.usedSpaceBytes;
    totals.localCacheUsedSpaceBytes += r.localCacheUsedSpaceBytes;
    totals.objectStorageUsedSpaceBytes += r.objectStorageUsedSpaceBytes;
    totals.storedBytes += r.storedBytes;
  }
  const otherWorkloads = repositories.some((r) => r.otherWorkloads === true)
    ? true
    : repositories.every((r) => r.otherWorkloads === false)
      ? false
      : null;
  const reduction = divide(protectedExchangeBytes - totals.storedBytes, protectedExchangeBytes);
  return {
    status: "complete",
    server: snapshot.server,
    apiVersion: snapshot.apiVersion,
    organization: { id: snapshot.organization.id, name: snapshot.organization.name },
    readAt: snapshot.readAt,
    repositories,
    totals,
    protectedMailboxes,
    protectedArchives,
    protectedInExchange,
    mailboxesInExchange,
    protectedExchangeBytes,
    allMailboxesBytes: input.allMailboxesBytes,
    dataReductionPercent: reduction === null ? null : reduction * 100,
    storedBytesPerProtectedMailbox: divide(totals.storedBytes, protectedMailboxes),
    otherWorkloads,
    reductionNote:
      otherWorkloads === true
        ? OTHER_WORKLOADS_NOTE
        : otherWorkloads === false
          ? MAIL_ONLY_NOTE
          : UNKNOWN_NOTE,
    licensedUsers: snapshot.licensedUsers,
    unprotected: { count: unprotected.length, byType, mailboxes: unprotected },
    unprotectedArchives: { count: unprotectedArchives.length, mailboxes: unprotectedArchives },
    stale: { days: staleDays, count: stale.length, mailboxes: stale },
    orphaned: { count: orphaned.length, mailboxes: orphaned },
    growth: null,
    warnings: snapshot.warnings,
    formulas: BACKUP_FORMULAS,
  };
}

export interface BackupHistoryPoint {
  at: string;
  storedBytes: number;
  protectedExchangeBytes: number;
}

/** Stored bytes vs protected mailbox bytes between the first and the last of two or more runs. */
export function computeBackupGrowth(points: BackupHistoryPoint[]): BackupGrowth | null {
  if (points.length < 2) return null;
  const sorted = [...points].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  const days = (Date.parse(last.at) - Date.parse(first.at)) / 86_400_000;
  if (!(days > 0)) return null;
  return {
    from: first.at,
    to: last.at,
    days,
    storedFirstBytes: first.storedBytes,
    storedLastBytes: last.storedBytes,
    storedGrowthBytes: last.storedBytes - first.storedBytes,
    protectedExchangeFirstBytes: first.protectedExchangeBytes,
    protectedExchangeLastBytes: last.protectedExchangeBytes,
    protectedExchangeGrowthBytes: last.protectedExchangeBytes - first.protectedExchangeBytes,
    runs: sorted.length,
  };
}
