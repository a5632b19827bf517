/**
 * Reading the few fields the report needs out of Get-Mailbox / Get-MailboxStatistics rows, whatever
 * shape the client hands them in (normalised `...Bytes` numbers, or raw ByteQuantifiedSize strings).
 */
import { parseByteQuantity, parseCount } from "./bytes.js";
import type { MailboxCategory, MailboxListing } from "./types.js";

const EMPTY_GUID = /^0{8}-0{4}-0{4}-0{4}-0{12}$/;

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

export function categoryOf(recipientTypeDetails: string): MailboxCategory {
  switch (recipientTypeDetails) {
    case "UserMailbox":
      return "user";
    case "SharedMailbox":
      return "shared";
    case "RoomMailbox":
      return "room";
    case "EquipmentMailbox":
      return "equipment";
    default:
      return "other";
  }
}

/** True when the mailbox has an archive worth a second statistics call. */
export function hasArchive(row: Record<string, unknown>): boolean {
  if (str(row.ArchiveStatus)?.toLowerCase() === "active") return true;
  const guid = str(row.ArchiveGuid);
  return guid !== undefined && !EMPTY_GUID.test(guid);
}

/** The compact listing of one Get-Mailbox row; null when the row has no usable identity. */
export function listingFromMailboxRow(row: Record<string, unknown>): MailboxListing | null {
  // ExchangeGuid identifies the mailbox itself (Guid is the AD object); both are accepted as -Identity.
  const guid = str(row.ExchangeGuid) ?? str(row.Guid) ?? str(row.ExternalDirectoryObjectId);
  const identity =
    str(row.UserPrincipalName) ?? str(row.PrimarySmtpAddress) ?? str(row.Alias) ?? str(row.Name) ?? guid;
  if (!guid || !identity) return null;
  const listing: MailboxListing = {
    guid,
    identity,
    displayName: str(row.DisplayName) ?? identity,
    recipientTypeDetails: str(row.RecipientTypeDetails) ?? "Unknown",
    hasArchive: hasArchive(row),
  };
  const smtp = str(row.PrimarySmtpAddress);
  if (smtp && smtp.toLowerCase() !== identity.toLowerCase()) listing.smtp = smtp;
  return listing;
}

export interface StatisticsNumbers {
  bytes: number;
  items: number;
  deletedBytes: number;
  deletedItems: number;
  lastLogonTime: string | null;
}

/**
 * Numbers of one Get-MailboxStatistics row. Prefers the client's exact `...Bytes` fields, else parses
 * the size strings. Returns null when a size is missing, so a malformed answer is an error, not a zero.
 */
export function statisticsFromRow(row: Record<string, unknown>): StatisticsNumbers | null {
  const bytes = parseByteQuantity(row.TotalItemSizeBytes ?? row.TotalItemSize);
  const deletedBytes = parseByteQuantity(row.TotalDeletedItemSizeBytes ?? row.TotalDeletedItemSize);
  const items = parseCount(row.ItemCount);
  const deletedItems = parseCount(row.DeletedItemCount);
  if (bytes === null || deletedBytes === null || items === null || deletedItems === null) return null;
  const logon = str(row.LastLogonTime);
  return { bytes, items, deletedBytes, deletedItems, lastLogonTime: logon ?? null };
}
