/**
 * Wire objects of the emulated cmdlets, in the JSON form InvokeCommand returns (docs/exchange-rest.md
 * §3, docs/emulator-exchange.md): GUIDs annotated `#Guid`/`System.Guid`, collections `#Collection(String)`, DateTimes with
 * seven fractional digits and `System.DateTime`, sizes as ByteQuantifiedSize strings, enums as strings.
 */

import { formatByteQuantifiedSize, formatExchangeDateTime } from "../data/formats.js";
import type { MailboxRecord, TenantInfo } from "../types.js";

type Row = Record<string, unknown>;

/** The directory server named in "couldn't be found on '…'" errors. */
export const DIRECTORY_SERVER = "EMUPR01A001DC01.EMUPR01A001.PROD.OUTLOOK.COM";
/** The mailbox server sent as `X-CalculatedBETarget`. */
export const BACKEND_SERVER = "EMUPR01MB0001.EMUPR01.PROD.OUTLOOK.COM";

const GIB = 1024 ** 3;
const QUOTAS = {
  ProhibitSendQuota: formatByteQuantifiedSize(99 * GIB),
  ProhibitSendReceiveQuota: formatByteQuantifiedSize(100 * GIB),
  IssueWarningQuota: formatByteQuantifiedSize(98 * GIB),
  RecoverableItemsQuota: formatByteQuantifiedSize(30 * GIB),
  RecoverableItemsWarningQuota: formatByteQuantifiedSize(20 * GIB),
  CalendarLoggingQuota: formatByteQuantifiedSize(6 * GIB),
  RulesQuota: formatByteQuantifiedSize(256 * 1024),
  ArchiveQuota: formatByteQuantifiedSize(100 * GIB),
  ArchiveWarningQuota: formatByteQuantifiedSize(90 * GIB),
};

export const CUSTOM_ATTRIBUTES = Array.from({ length: 15 }, (_, i) => `CustomAttribute${i + 1}`);

export function putGuid(row: Row, name: string, value: string): void {
  row[`${name}@data.type`] = "System.Guid";
  row[`${name}@odata.type`] = "#Guid";
  row[name] = value;
}

export function putDate(row: Row, name: string, iso: string | null): void {
  row[`${name}@data.type`] = "System.DateTime";
  row[name] = formatExchangeDateTime(iso);
}

export function putStrings(row: Row, name: string, values: string[]): void {
  row[`${name}@odata.type`] = "#Collection(String)";
  row[name] = values;
}

export function routingDomain(tenant: TenantInfo): string {
  return tenant.domain.replace(/\.onmicrosoft\.com$/i, ".mail.onmicrosoft.com");
}

function distinguishedName(name: string, tenant: TenantInfo): string {
  return `CN=${name},OU=${tenant.domain},OU=Microsoft Exchange Hosted Organizations,DC=EMUPR01A001,DC=PROD,DC=OUTLOOK,DC=COM`;
}

export function organizationId(tenant: TenantInfo): string {
  return `EMUPR01A001.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/${tenant.domain}`;
}

function database(index: number): string {
  return `EMUPR01DG${String(index % 40).padStart(3, "0")}-db${String(index % 97).padStart(3, "0")}`;
}

/** Get-Mailbox's object. */
export function mailboxRow(m: MailboxRecord, tenant: TenantInfo, overlay?: Row): Row {
  const row: Row = {
    Name: m.alias,
    Alias: m.alias,
    DisplayName: m.displayName,
    Identity: m.alias,
    Id: m.alias,
    DistinguishedName: distinguishedName(m.alias, tenant),
    OrganizationId: organizationId(tenant),
    ExchangeVersion: "0.20 (15.0.0.0)",
  };
  putGuid(row, "Guid", m.guid);
  putGuid(row, "ExchangeGuid", m.guid);
  row.ExternalDirectoryObjectId = m.externalDirectoryObjectId;
  row.UserPrincipalName = m.userPrincipalName;
  row.PrimarySmtpAddress = m.primarySmtpAddress;
  row.WindowsEmailAddress = m.primarySmtpAddress;
  putStrings(row, "EmailAddresses", [
    `SMTP:${m.primarySmtpAddress}`,
    `smtp:${m.alias}@${routingDomain(tenant)}`,
  ]);
  row.RecipientType = "UserMailbox";
  row.RecipientTypeDetails = m.recipientTypeDetails;
  row.ResourceType =
    m.recipientTypeDetails === "RoomMailbox"
      ? "Room"
      : m.recipientTypeDetails === "EquipmentMailbox"
        ? "Equipment"
        : null;
  row.IsInactiveMailbox = m.inactive;
  row.IsSoftDeletedByRemove = m.inactive;
  putDate(row, "WhenSoftDeleted", m.inactive ? (m.lastLogonTime ?? m.whenCreatedUtc) : null);
  row.LitigationHoldEnabled = m.inactive;
  row.Database = database(m.index);
  putGuid(row, "DatabaseGuid", "00000000-0000-0000-0000-000000000000");
  row.ArchiveStatus = m.archiveStatus;
  putGuid(row, "ArchiveGuid", m.archiveGuid);
  putStrings(row, "ArchiveName", m.archive ? [`In-Place Archive - ${m.displayName}`] : []);
  row.ArchiveState = m.archive ? "Local" : "None";
  row.ArchiveDatabase = m.archive ? database(m.index + 1) : null;
  row.ArchiveQuota = QUOTAS.ArchiveQuota;
  row.ArchiveWarningQuota = QUOTAS.ArchiveWarningQuota;
  row.AutoExpandingArchiveEnabled = false;
  row.ProhibitSendQuota = QUOTAS.ProhibitSendQuota;
  row.ProhibitSendReceiveQuota = QUOTAS.ProhibitSendReceiveQuota;
  row.IssueWarningQuota = QUOTAS.IssueWarningQuota;
  row.RecoverableItemsQuota = QUOTAS.RecoverableItemsQuota;
  row.RecoverableItemsWarningQuota = QUOTAS.RecoverableItemsWarningQuota;
  row.CalendarLoggingQuota = QUOTAS.CalendarLoggingQuota;
  row.RulesQuota = QUOTAS.RulesQuota;
  row.UseDatabaseQuotaDefaults = false;
  row.HiddenFromAddressListsEnabled = m.recipientTypeDetails === "DiscoveryMailbox";
  for (const name of CUSTOM_ATTRIBUTES) row[name] = "";
  putDate(row, "WhenCreated", m.whenCreatedUtc);
  putDate(row, "WhenCreatedUTC", m.whenCreatedUtc);
  putDate(row, "WhenMailboxCreated", m.whenCreatedUtc);
  if (overlay) Object.assign(row, overlay);
  return row;
}

/** Get-MailboxStatistics object for the primary mailbox or, with `archive`, its archive. */
export function statisticsRow(m: MailboxRecord, tenant: TenantInfo, archive: boolean): Row {
  const stats = archive ? m.archive : m.primary;
  if (!stats) throw new Error("statisticsRow: mailbox has no archive");
  const row: Row = {
    DisplayName: archive ? `In-Place Archive - ${m.displayName}` : m.displayName,
  };
  putGuid(row, "MailboxGuid", archive ? m.archiveGuid : m.guid);
  row.Identity = archive ? m.archiveGuid : m.guid;
  row.ItemCount = stats.itemCount;
  row.DeletedItemCount = stats.deletedItemCount;
  row.AssociatedItemCount = Math.round(stats.itemCount / 50);
  row.TotalItemSize = formatByteQuantifiedSize(stats.totalItemBytes);
  row.TotalDeletedItemSize = formatByteQuantifiedSize(stats.deletedItemBytes);
  row.SystemMessageSize = formatByteQuantifiedSize(0);
  putDate(row, "LastLogonTime", archive ? null : m.lastLogonTime);
  putDate(row, "LastLogoffTime", archive ? null : m.lastLogonTime);
  putDate(row, "LastUserActionTime", archive ? null : m.lastLogonTime);
  putDate(row, "LastInteractionTime", archive ? null : m.lastLogonTime);
  row.MailboxType = "Mailbox";
  row.MailboxTypeDetail = m.recipientTypeDetails;
  row.IsArchiveMailbox = archive;
  row.IsQuarantined = false;
  row.StorageLimitStatus = null;
  row.Database = database(archive ? m.index + 1 : m.index);
  row.OwnerADGuid = m.externalDirectoryObjectId;
  row.ExternalDirectoryOrganizationId = tenant.id;
  return row;
}

/** Get-User object of a mailbox's user account. */
export function mailboxUserRow(m: MailboxRecord, tenant: TenantInfo): Row {
  const person = m.recipientTypeDetails === "UserMailbox";
  const [first = "", last = ""] = person ? m.displayName.split(" ") : [];
  const row: Row = {
    Name: m.alias,
    Identity: m.alias,
    DisplayName: m.displayName,
    FirstName: first,
    LastName: last,
    UserPrincipalName: m.userPrincipalName,
    WindowsEmailAddress: m.primarySmtpAddress,
    RecipientType: "UserMailbox",
    RecipientTypeDetails: m.recipientTypeDetails,
    AccountDisabled: !person,
    IsInactiveMailbox: m.inactive,
    DistinguishedName: distinguishedName(m.alias, tenant),
  };
  putGuid(row, "Guid", m.externalDirectoryObjectId);
  row.ExternalDirectoryObjectId = m.externalDirectoryObjectId;
  putDate(row, "WhenCreatedUTC", m.whenCreatedUtc);
  return row;
}

/** Annotate a dataset recipient object (plain values) the way the wire shows it. */
export function recipientRow(recipient: Row, tenant: TenantInfo): Row {
  const row: Row = {};
  for (const [key, value] of Object.entries(recipient)) {
    if (key === "Guid" || key === "ArchiveGuid") putGuid(row, key, String(value));
    else if (Array.isArray(value)) putStrings(row, key, value as string[]);
    else if (key === "WhenCreatedUTC") {
      row[`${key}@data.type`] = "System.DateTime";
      row[key] = value;
    } else row[key] = value;
  }
  row.DistinguishedName = distinguishedName(String(recipient.Name), tenant);
  row.OrganizationId = organizationId(tenant);
  row.ExchangeVersion = "0.20 (15.0.0.0)";
  return row;
}

/** Get-User object of a mail user (a recipient without a mailbox). */
export function mailUserRow(recipient: Row, tenant: TenantInfo): Row {
  const [first = "", last = ""] = String(recipient.DisplayName).split(" ");
  const row: Row = {
    Name: recipient.Name,
    Identity: recipient.Identity,
    DisplayName: recipient.DisplayName,
    FirstName: first,
    LastName: last,
    UserPrincipalName: recipient.PrimarySmtpAddress,
    WindowsEmailAddress: recipient.PrimarySmtpAddress,
    RecipientType: "MailUser",
    RecipientTypeDetails: "MailUser",
    AccountDisabled: false,
    IsInactiveMailbox: false,
    DistinguishedName: distinguishedName(String(recipient.Name), tenant),
  };
  putGuid(row, "Guid", String(recipient.ExternalDirectoryObjectId));
  row.ExternalDirectoryObjectId = recipient.ExternalDirectoryObjectId;
  row["WhenCreatedUTC@data.type"] = "System.DateTime";
  row.WhenCreatedUTC = recipient.WhenCreatedUTC;
  return row;
}

/** Per-tenant JSON fragments of `mailboxRowJson` that do not depend on the mailbox. */
const fragmentCache = new Map<string, { dnTail: string; organization: string; routing: string }>();
const QUOTA_BLOCK = JSON.stringify({
  ArchiveQuota: QUOTAS.ArchiveQuota,
  ArchiveWarningQuota: QUOTAS.ArchiveWarningQuota,
  AutoExpandingArchiveEnabled: false,
  ProhibitSendQuota: QUOTAS.ProhibitSendQuota,
  ProhibitSendReceiveQuota: QUOTAS.ProhibitSendReceiveQuota,
  IssueWarningQuota: QUOTAS.IssueWarningQuota,
  RecoverableItemsQuota: QUOTAS.RecoverableItemsQuota,
  RecoverableItemsWarningQuota: QUOTAS.RecoverableItemsWarningQuota,
  CalendarLoggingQuota: QUOTAS.CalendarLoggingQuota,
  RulesQuota: QUOTAS.RulesQuota,
  UseDatabaseQuotaDefaults: false,
}).slice(1, -1);
const CUSTOM_BLOCK = CUSTOM_ATTRIBUTES.map((name) => `"${name}":""`).join(",");
const ZERO_GUID = "00000000-0000-0000-0000-000000000000";

function fragments(tenant: TenantInfo) {
  let cached = fragmentCache.get(tenant.domain);
  if (!cached) {
    cached = {
      dnTail: JSON.stringify(distinguishedName("", tenant)).slice(4),
      organization: JSON.stringify(organizationId(tenant)),
      routing: routingDomain(tenant),
    };
    fragmentCache.set(tenant.domain, cached);
  }
  return cached;
}

const q = JSON.stringify;
const guidJson = (name: string, value: string) =>
  `"${name}@data.type":"System.Guid","${name}@odata.type":"#Guid","${name}":"${value}"`;
const dateJson = (name: string, iso: string | null) =>
  `"${name}@data.type":"System.DateTime","${name}":${q(formatExchangeDateTime(iso))}`;

/**
 * `JSON.stringify(mailboxRow(m, tenant))` without building the object: listing a million mailboxes is
 * dominated by object construction, serialization and the garbage both leave. A test keeps the two
 * byte-for-byte identical.
 */
export function mailboxRowJson(m: MailboxRecord, tenant: TenantInfo): string {
  const f = fragments(tenant);
  const alias = q(m.alias);
  const type = m.recipientTypeDetails;
  const resource = type === "RoomMailbox" ? '"Room"' : type === "EquipmentMailbox" ? '"Equipment"' : "null";
  const archiveName = m.archive ? `[${q(`In-Place Archive - ${m.displayName}`)}]` : "[]";
  return (
    `{"Name":${alias},"Alias":${alias},"DisplayName":${q(m.displayName)},"Identity":${alias},"Id":${alias},` +
    `"DistinguishedName":"CN=${alias.slice(1, -1)}${f.dnTail},"OrganizationId":${f.organization},` +
    `"ExchangeVersion":"0.20 (15.0.0.0)",${guidJson("Guid", m.guid)},${guidJson("ExchangeGuid", m.guid)},` +
    `"ExternalDirectoryObjectId":"${m.externalDirectoryObjectId}","UserPrincipalName":${q(m.userPrincipalName)},` +
    `"PrimarySmtpAddress":${q(m.primarySmtpAddress)},"WindowsEmailAddress":${q(m.primarySmtpAddress)},` +
    `"EmailAddresses@odata.type":"#Collection(String)","EmailAddresses":[${q(`SMTP:${m.primarySmtpAddress}`)},${q(`smtp:${m.alias}@${f.routing}`)}],` +
    `"RecipientType":"UserMailbox","RecipientTypeDetails":"${type}","ResourceType":${resource},` +
    `"IsInactiveMailbox":${m.inactive},"IsSoftDeletedByRemove":${m.inactive},` +
    `${dateJson("WhenSoftDeleted", m.inactive ? (m.lastLogonTime ?? m.whenCreatedUtc) : null)},` +
    `"LitigationHoldEnabled":${m.inactive},"Database":"${database(m.index)}",${guidJson("DatabaseGuid", ZERO_GUID)},` +
    `"ArchiveStatus":"${m.archiveStatus}",${guidJson("ArchiveGuid", m.archiveGuid)},` +
    `"ArchiveName@odata.type":"#Collection(String)","ArchiveName":${archiveName},` +
    `"ArchiveState":"${m.archive ? "Local" : "None"}","ArchiveDatabase":${m.archive ? `"${database(m.index + 1)}"` : "null"},` +
    `${QUOTA_BLOCK},"HiddenFromAddressListsEnabled":${type === "DiscoveryMailbox"},${CUSTOM_BLOCK},` +
    `${dateJson("WhenCreated", m.whenCreatedUtc)},${dateJson("WhenCreatedUTC", m.whenCreatedUtc)},` +
    `${dateJson("WhenMailboxCreated", m.whenCreatedUtc)}}`
  );
}
