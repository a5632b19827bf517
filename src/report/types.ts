/**
 * Shapes of the usage report. The collector keeps only these compact numbers per mailbox (never the
 * raw cmdlet rows), so a 100,000-mailbox tenant stays a few tens of megabytes in memory.
 */

/**
 * What the report needs from an Exchange connection: `connectExchangeOnline()` satisfies it, unit tests
 * use fakes. Throttling is observed through the connection's `retry.onRetry` (see throttle-signal.ts).
 */
export interface UsageSource {
  stream(
    cmdlet: string,
    params?: Record<string, string | number | boolean>,
    options?: { signal?: AbortSignal },
  ): AsyncIterable<Record<string, unknown>>;
  invoke(
    cmdlet: string,
    params?: Record<string, string | number | boolean>,
    options?: { signal?: AbortSignal },
  ): Promise<Record<string, unknown>[]>;
}

/** The report's mailbox categories (RecipientTypeDetails folded into five buckets). */
export type MailboxCategory = "user" | "shared" | "room" | "equipment" | "other";
export const MAILBOX_CATEGORIES: readonly MailboxCategory[] = [
  "user",
  "shared",
  "room",
  "equipment",
  "other",
];

/** One mailbox, as listed by Get-Mailbox (before statistics). */
export interface MailboxListing {
  /** the identity we pass to Get-MailboxStatistics (ExchangeGuid / Guid) */
  guid: string;
  identity: string;
  displayName: string;
  recipientTypeDetails: string;
  hasArchive: boolean;
  /** PrimarySmtpAddress, only when it differs from `identity` (the join key with backup lists) */
  smtp?: string;
}

/** One mailbox with its statistics: the compact row kept in memory, stored in history and written to files. */
export interface MailboxUsage {
  guid: string;
  identity: string;
  displayName: string;
  recipientTypeDetails: string;
  category: MailboxCategory;
  primaryBytes: number;
  primaryItems: number;
  deletedBytes: number;
  deletedItems: number;
  hasArchive: boolean;
  /** null when the mailbox has no archive */
  archiveBytes: number | null;
  archiveItems: number | null;
  archiveDeletedBytes: number | null;
  archiveDeletedItems: number | null;
  /** ISO time, or null when never logged on / not reported */
  lastLogonTime: string | null;
  /** PrimarySmtpAddress, only when it differs from `identity` */
  smtp?: string;
  /** set when a VB365 server was asked (docs/report.md "Backup coverage"): the primary mailbox is backed up */
  protected?: boolean | null;
  /** the archive is backed up (null: no archive, or unknown) */
  archiveProtected?: boolean | null;
  /** newest backup of the primary mailbox (ISO), null when never */
  lastBackup?: string | null;
}

/** A mailbox whose statistics could not be read after the client's retries. */
export interface MailboxFailure {
  guid: string;
  identity: string;
  /** which call failed: primary statistics or the archive's */
  stage: "primary" | "archive";
  error: string;
  /** the typed error's class name, e.g. TransientError */
  errorType: string;
}

/** Counts that come from listings rather than per-mailbox statistics. */
export interface TenantCounts {
  /** every recipient Get-Recipient lists (mailboxes, mail users, contacts, groups) */
  recipients: number;
  /** active mailboxes Get-Mailbox lists */
  mailboxes: number;
  /** active mailboxes by RecipientTypeDetails (from the listing, so complete even if statistics failed) */
  mailboxesByType: Record<string, number>;
  /** null when the inactive listing was refused */
  inactiveMailboxes: number | null;
  /** active mailboxes with an archive */
  archives: number;
}
