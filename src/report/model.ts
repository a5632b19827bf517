/**
 * The report as data: what the files and the stdout summary are rendered from. Everything volatile
 * (run ids, times, call counters) sits under `run` so two runs over the same data differ only there.
 */
import {
  type BackupComparison,
  combineTotals,
  computeBackupComparison,
  FORMULAS,
  type Growth,
  type UsageTotals,
} from "./aggregate.js";
import type { BackupSection } from "./backup-coverage.js";
import type { MailboxFailure, MailboxUsage, TenantCounts } from "./types.js";

export const REPORT_SCHEMA = "exo-cba/usage-report@1";
export const REPORT_SOURCE =
  "Exchange Online live statistics: Get-EXORecipient, Get-EXOMailbox (also -InactiveMailboxOnly), Get-EXOMailboxStatistics (-Archive), or their classic Get-Recipient/Get-Mailbox/Get-MailboxStatistics equivalents";

export interface RunInfo {
  runId: string;
  startedAt: string;
  finishedAt: string;
  /** continued an unfinished earlier run (--resume) */
  resumed: boolean;
  calls: { statistics: number; archiveStatistics: number; reused: number };
  /** "exo" (Get-EXO* with property sets) or "classic" (Get-Mailbox, Get-MailboxStatistics, Get-Recipient) */
  cmdlets: "exo" | "classic";
  /** 429 retries the client reported */
  throttled: number;
  /** times the adaptive concurrency window was cut because of them */
  windowCuts: number;
}

export interface TenantReport {
  tenant: string;
  organization: string;
  status: "complete" | "partial";
  counts: TenantCounts;
  totals: UsageTotals;
  growth: Growth | null;
  backup: BackupComparison | null;
  /** the VB365 side, when a VB365 server was given (docs/report.md "Backup coverage") */
  vb365?: BackupSection;
  failures: MailboxFailure[];
  warnings: string[];
  run: RunInfo;
  /**
   * Per-mailbox rows, in Get-Mailbox order. `runUsageReport` reads them from the history one at a time
   * (docs/report.md "Memory"): iterate them only while it runs (e.g. in `onTenantEnd`); they are in the
   * files and the history afterwards.
   */
  mailboxes: Iterable<MailboxUsage> & { readonly length: number };
}

export interface CombinedSummary {
  tenants: string[];
  status: "complete" | "partial";
  counts: TenantCounts;
  totals: UsageTotals;
  backup: BackupComparison | null;
  failures: Array<MailboxFailure & { tenant: string }>;
}

export function combineReports(reports: TenantReport[], backupStoredBytes?: number): CombinedSummary {
  const counts: TenantCounts = {
    recipients: 0,
    mailboxes: 0,
    mailboxesByType: {},
    inactiveMailboxes: 0,
    archives: 0,
  };
  for (const r of reports) {
    counts.recipients += r.counts.recipients;
    counts.mailboxes += r.counts.mailboxes;
    counts.archives += r.counts.archives;
    counts.inactiveMailboxes =
      counts.inactiveMailboxes === null || r.counts.inactiveMailboxes === null
        ? null
        : counts.inactiveMailboxes + r.counts.inactiveMailboxes;
    for (const [type, n] of Object.entries(r.counts.mailboxesByType)) {
      counts.mailboxesByType[type] = (counts.mailboxesByType[type] ?? 0) + n;
    }
  }
  const totals = combineTotals(reports.map((r) => r.totals));
  return {
    tenants: reports.map((r) => r.tenant),
    status: reports.every((r) => r.status === "complete") ? "complete" : "partial",
    counts,
    totals,
    backup: backupStoredBytes === undefined ? null : computeBackupComparison(totals, backupStoredBytes),
    failures: reports.flatMap((r) => r.failures.map((f) => ({ tenant: r.tenant, ...f }))),
  };
}

/** The short summary printed on stdout (and the rows of `--output table`). */
export interface SummaryRow {
  [column: string]: unknown;
  tenant: string;
  recipients: number;
  mailboxes: number;
  inactiveMailboxes: number | null;
  archives: number;
  primaryBytes: number;
  deletedBytes: number;
  /** archive items + archive deleted items */
  archiveBytes: number;
  totalProtectedBytes: number;
  failures: number;
}

export function summaryRows(summary: CombinedSummary, reports: TenantReport[]): SummaryRow[] {
  const rowFor = (
    tenant: string,
    counts: TenantCounts,
    totals: UsageTotals,
    failures: number,
  ): SummaryRow => ({
    tenant,
    recipients: counts.recipients,
    mailboxes: counts.mailboxes,
    inactiveMailboxes: counts.inactiveMailboxes,
    archives: counts.archives,
    primaryBytes: totals.primaryBytes,
    deletedBytes: totals.deletedBytes,
    archiveBytes: totals.archiveBytes + totals.archiveDeletedBytes,
    totalProtectedBytes: totals.totalProtectedBytes,
    failures,
  });
  const rows = reports.map((r) => rowFor(r.tenant, r.counts, r.totals, r.failures.length));
  if (reports.length > 1) rows.push(rowFor("(all)", summary.counts, summary.totals, summary.failures.length));
  return rows;
}

export { FORMULAS };
