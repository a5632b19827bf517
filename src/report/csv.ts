/**
 * CSV (RFC 4180, CRLF): one row per mailbox, archive figures as columns of the same row, byte
 * columns named `...Bytes` and holding plain integers.
 */
import { csvField } from "../util/csv.js";
import { protectedBytesOf } from "./aggregate.js";
import { joinedInChunks } from "./chunks.js";
import type { MailboxFailure, MailboxUsage } from "./types.js";

export const MAILBOX_CSV_COLUMNS = [
  "Tenant",
  "Identity",
  "DisplayName",
  "RecipientTypeDetails",
  "Category",
  "ExchangeGuid",
  "PrimaryBytes",
  "PrimaryItems",
  "DeletedItemsBytes",
  "DeletedItems",
  "HasArchive",
  "ArchiveBytes",
  "ArchiveItems",
  "ArchiveDeletedItemsBytes",
  "ArchiveDeletedItems",
  "TotalProtectedBytes",
  "LastLogonTime",
] as const;

function mailboxCells(tenant: string, m: MailboxUsage): unknown[] {
  return [
    tenant,
    m.identity,
    m.displayName,
    m.recipientTypeDetails,
    m.category,
    m.guid,
    m.primaryBytes,
    m.primaryItems,
    m.deletedBytes,
    m.deletedItems,
    m.hasArchive,
    m.archiveBytes,
    m.archiveItems,
    m.archiveDeletedBytes,
    m.archiveDeletedItems,
    protectedBytesOf(m),
    m.lastLogonTime,
  ];
}

const line = (cells: readonly unknown[]) => `${cells.map(csvField).join(",")}\r\n`;

/** Added when a VB365 server was asked: empty cells mean "unknown" (the backup side failed). */
export const BACKUP_CSV_COLUMNS = ["Protected", "ArchiveProtected", "LastBackup"] as const;

/** The CSV in chunks of rows, for `writeFileAtomic` to stream (100,000 rows never become one string). */
export function* mailboxCsvChunks(
  tenant: string,
  mailboxes: Iterable<MailboxUsage>,
  options: { backup?: boolean } = {},
): Generator<string> {
  const backup = options.backup === true;
  yield* joinedInChunks(csvLines(tenant, mailboxes, backup));
}

function* csvLines(tenant: string, mailboxes: Iterable<MailboxUsage>, backup: boolean): Generator<string> {
  yield line(backup ? [...MAILBOX_CSV_COLUMNS, ...BACKUP_CSV_COLUMNS] : MAILBOX_CSV_COLUMNS);
  for (const m of mailboxes) {
    const cells = mailboxCells(tenant, m);
    if (backup) cells.push(m.protected, m.archiveProtected, m.lastBackup);
    yield line(cells);
  }
}

export function renderMailboxCsv(tenant: string, mailboxes: Iterable<MailboxUsage>): string {
  return [...mailboxCsvChunks(tenant, mailboxes)].join("");
}

export const FAILURE_CSV_COLUMNS = [
  "Tenant",
  "Identity",
  "ExchangeGuid",
  "Stage",
  "ErrorType",
  "Error",
] as const;

export function renderFailureCsv(failures: Iterable<MailboxFailure & { tenant: string }>): string {
  const parts = [line(FAILURE_CSV_COLUMNS)];
  for (const f of failures) parts.push(line([f.tenant, f.identity, f.guid, f.stage, f.errorType, f.error]));
  return parts.join("");
}
