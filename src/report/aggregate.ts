/**
 * Totals, averages, top mailboxes, size distribution, growth and the backup comparison. Pure
 * functions over the compact per-mailbox rows; every formula is also written out in `FORMULAS` so the
 * report can state how each number was computed.
 */
import { MAILBOX_CATEGORIES, type MailboxCategory, type MailboxUsage } from "./types.js";

export const TOP_N = 10;

/** Upper bounds (exclusive) of the size-distribution buckets, by total protected bytes per mailbox. */
export const DISTRIBUTION_BOUNDS: ReadonlyArray<{ label: string; below: number }> = [
  { label: "< 100 MiB", below: 100 * 1024 ** 2 },
  { label: "100 MiB – 1 GiB", below: 1024 ** 3 },
  { label: "1 – 10 GiB", below: 10 * 1024 ** 3 },
  { label: "10 – 50 GiB", below: 50 * 1024 ** 3 },
  { label: "≥ 50 GiB", below: Number.POSITIVE_INFINITY },
];

export const FORMULAS = {
  totalProtectedBytes:
    "totalProtectedBytes = primaryBytes + deletedBytes + archiveBytes + archiveDeletedBytes (TotalItemSize + TotalDeletedItemSize of each mailbox and of its archive)",
  average: "averageProtectedBytesPerMailbox = totalProtectedBytes / mailboxes measured",
  growth:
    "growthBytes = last − first; annualisedBytes = growthBytes × 365.25 / days; annualisedPercent = ((last / first)^(365.25 / days) − 1) × 100 (compound), days = time between the first and the last run",
  dataReduction: "dataReductionPercent = (totalProtectedBytes − storedBytes) / totalProtectedBytes × 100",
  capacityPerUser: "capacityPerUserBytes = storedBytes / mailboxes measured",
} as const;

export interface TopMailbox {
  identity: string;
  displayName: string;
  recipientTypeDetails: string;
  protectedBytes: number;
  primaryBytes: number;
  archiveBytes: number;
}

export interface UsageTotals {
  /** mailboxes whose statistics were read (failures excluded) */
  mailboxesMeasured: number;
  measuredByCategory: Record<MailboxCategory, number>;
  primaryBytes: number;
  primaryItems: number;
  deletedBytes: number;
  deletedItems: number;
  archiveBytes: number;
  archiveItems: number;
  archiveDeletedBytes: number;
  archiveDeletedItems: number;
  totalProtectedBytes: number;
  averageProtectedBytesPerMailbox: number | null;
  /** average protected bytes of user mailboxes only ("per user") */
  averageProtectedBytesPerUserMailbox: number | null;
  top: TopMailbox[];
  distribution: Array<{ label: string; mailboxes: number; bytes: number }>;
}

export const protectedBytesOf = (m: MailboxUsage): number =>
  m.primaryBytes + m.deletedBytes + (m.archiveBytes ?? 0) + (m.archiveDeletedBytes ?? 0);

const emptyCategories = (): Record<MailboxCategory, number> =>
  Object.fromEntries(MAILBOX_CATEGORIES.map((c) => [c, 0])) as Record<MailboxCategory, number>;

/** One pass over the rows; the top list is kept by insertion so memory stays O(TOP_N). */
export function aggregateUsage(mailboxes: Iterable<MailboxUsage>): UsageTotals {
  const t: UsageTotals = {
    mailboxesMeasured: 0,
    measuredByCategory: emptyCategories(),
    primaryBytes: 0,
    primaryItems: 0,
    deletedBytes: 0,
    deletedItems: 0,
    archiveBytes: 0,
    archiveItems: 0,
    archiveDeletedBytes: 0,
    archiveDeletedItems: 0,
    totalProtectedBytes: 0,
    averageProtectedBytesPerMailbox: null,
    averageProtectedBytesPerUserMailbox: null,
    top: [],
    distribution: DISTRIBUTION_BOUNDS.map((b) => ({ label: b.label, mailboxes: 0, bytes: 0 })),
  };
  let userBytes = 0;
  for (const m of mailboxes) {
    const bytes = protectedBytesOf(m);
    t.mailboxesMeasured++;
    t.measuredByCategory[m.category]++;
    t.primaryBytes += m.primaryBytes;
    t.primaryItems += m.primaryItems;
    t.deletedBytes += m.deletedBytes;
    t.deletedItems += m.deletedItems;
    t.archiveBytes += m.archiveBytes ?? 0;
    t.archiveItems += m.archiveItems ?? 0;
    t.archiveDeletedBytes += m.archiveDeletedBytes ?? 0;
    t.archiveDeletedItems += m.archiveDeletedItems ?? 0;
    t.totalProtectedBytes += bytes;
    if (m.category === "user") userBytes += bytes;
    const bucket = DISTRIBUTION_BOUNDS.findIndex((b) => bytes < b.below);
    const d = t.distribution[bucket]!;
    d.mailboxes++;
    d.bytes += bytes;
    insertTop(t.top, {
      identity: m.identity,
      displayName: m.displayName,
      recipientTypeDetails: m.recipientTypeDetails,
      protectedBytes: bytes,
      primaryBytes: m.primaryBytes,
      archiveBytes: m.archiveBytes ?? 0,
    });
  }
  t.averageProtectedBytesPerMailbox = divide(t.totalProtectedBytes, t.mailboxesMeasured);
  t.averageProtectedBytesPerUserMailbox = divide(userBytes, t.measuredByCategory.user);
  return t;
}

/** Largest first; ties keep the earlier mailbox so output is stable. */
function insertTop(top: TopMailbox[], candidate: TopMailbox): void {
  if (top.length === TOP_N && candidate.protectedBytes <= top[TOP_N - 1]!.protectedBytes) return;
  let i = top.length;
  while (i > 0 && top[i - 1]!.protectedBytes < candidate.protectedBytes) i--;
  top.splice(i, 0, candidate);
  if (top.length > TOP_N) top.pop();
}

/** Sum of several tenants' totals (the combined summary of a multi-tenant run). */
export function combineTotals(parts: UsageTotals[]): UsageTotals {
  const out = aggregateUsage([]);
  let userBytes = 0;
  for (const p of parts) {
    out.mailboxesMeasured += p.mailboxesMeasured;
    for (const c of MAILBOX_CATEGORIES) out.measuredByCategory[c] += p.measuredByCategory[c];
    out.primaryBytes += p.primaryBytes;
    out.primaryItems += p.primaryItems;
    out.deletedBytes += p.deletedBytes;
    out.deletedItems += p.deletedItems;
    out.archiveBytes += p.archiveBytes;
    out.archiveItems += p.archiveItems;
    out.archiveDeletedBytes += p.archiveDeletedBytes;
    out.archiveDeletedItems += p.archiveDeletedItems;
    out.totalProtectedBytes += p.totalProtectedBytes;
    userBytes += (p.averageProtectedBytesPerUserMailbox ?? 0) * p.measuredByCategory.user;
    p.distribution.forEach((d, i) => {
      out.distribution[i]!.mailboxes += d.mailboxes;
      out.distribution[i]!.bytes += d.bytes;
    });
    for (const m of p.top) insertTop(out.top, m);
  }
  out.averageProtectedBytesPerMailbox = divide(out.totalProtectedBytes, out.mailboxesMeasured);
  out.averageProtectedBytesPerUserMailbox = divide(userBytes, out.measuredByCategory.user);
  return out;
}

/** a / b, or null when b is 0 (never NaN or Infinity in a report). */
export function divide(a: number, b: number): number | null {
  return b === 0 ? null : a / b;
}

// -- growth --

export interface HistoryPoint {
  runId: string;
  /** ISO time the run finished */
  at: string;
  totalProtectedBytes: number;
  mailboxes: number;
}

export interface Growth {
  from: string;
  to: string;
  days: number;
  firstBytes: number;
  lastBytes: number;
  growthBytes: number;
  annualisedBytes: number;
  /** null when the first run measured 0 bytes (no base for a rate) */
  annualisedPercent: number | null;
  formula: string;
  points: HistoryPoint[];
}

const MS_PER_DAY = 86_400_000;

/** Growth between the first and the last of two or more runs; null with fewer runs or no elapsed time. */
export function computeGrowth(points: HistoryPoint[]): Growth | null {
  if (points.length < 2) return null;
  const sorted = [...points].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  const days = (Date.parse(last.at) - Date.parse(first.at)) / MS_PER_DAY;
  if (!(days > 0)) return null;
  const growthBytes = last.totalProtectedBytes - first.totalProtectedBytes;
  const years = days / 365.25;
  return {
    from: first.at,
    to: last.at,
    days,
    firstBytes: first.totalProtectedBytes,
    lastBytes: last.totalProtectedBytes,
    growthBytes,
    annualisedBytes: growthBytes / years,
    annualisedPercent:
      first.totalProtectedBytes > 0
        ? ((last.totalProtectedBytes / first.totalProtectedBytes) ** (1 / years) - 1) * 100
        : null,
    formula: FORMULAS.growth,
    points: sorted,
  };
}

// -- backup comparison --

export interface BackupComparison {
  storedBytes: number;
  /** may be negative when the backup holds more than the mailboxes (versions, other data); null when nothing was measured */
  dataReductionPercent: number | null;
  capacityPerUserBytes: number | null;
  formulas: string[];
}

export function computeBackupComparison(totals: UsageTotals, storedBytes: number): BackupComparison {
  const reduction = divide(totals.totalProtectedBytes - storedBytes, totals.totalProtectedBytes);
  return {
    storedBytes,
    dataReductionPercent: reduction === null ? null : reduction * 100,
    capacityPerUserBytes: divide(storedBytes, totals.mailboxesMeasured),
    formulas: [FORMULAS.dataReduction, FORMULAS.capacityPerUser],
  };
}
