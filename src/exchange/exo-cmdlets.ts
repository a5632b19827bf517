/**
 * The nine `Get-EXO*` cmdlets answered on our side (docs/invoke.md, "Get-EXO* names").
 *
 * In the ExchangeOnlineManagement module these are compiled client-side cmdlets that read other REST
 * surfaces; the InvokeCommand runspace runs the classic cmdlets and may not know the `Get-EXO*` names at
 * all. So the client never sends them: it sends the classic equivalent, maps the module's extra identity
 * parameters (`-ExternalDirectoryObjectId`, `-PrimarySmtpAddress`, `-UserPrincipalName`, `-ExchangeGuid`)
 * to the classic cmdlet's `-Identity` (or `-Mailbox`), drops `-PropertySets`/`-Properties`, and applies
 * them to each row itself: the Minimum set unless more is asked for, as the module does.
 */
import { UsageError } from "../errors.js";
import type { CmdletParameters, ParameterValue } from "./serialize.js";

/** Property sets of the Get-EXO* cmdlets (the module's "Property sets" article; docs/invoke.md). */
const MAILBOX_SETS: Record<string, readonly string[]> = {
  Minimum: [
    "Alias",
    "DisplayName",
    "DistinguishedName",
    "EmailAddresses",
    "ExchangeVersion",
    "ExternalDirectoryObjectId",
    "Guid",
    "Id",
    "Name",
    "OrganizationId",
    "PrimarySmtpAddress",
    "RecipientType",
    "RecipientTypeDetails",
    "UserPrincipalName",
  ],
  AddressList: [
    "AddressBookPolicy",
    "AddressListMembership",
    "ExternalDirectoryObjectId",
    "GeneratedOfflineAddressBooks",
    "HiddenFromAddressListsEnabled",
    "OfflineAddressBook",
  ],
  Archive: [
    "ArchiveDatabase",
    "ArchiveDomain",
    "ArchiveGuid",
    "ArchiveName",
    "ArchiveQuota",
    "ArchiveRelease",
    "ArchiveState",
    "ArchiveStatus",
    "ArchiveWarningQuota",
    "AutoExpandingArchiveEnabled",
    "DisabledArchiveDatabase",
    "DisabledArchiveGuid",
    "ExternalDirectoryObjectId",
    "JournalArchiveAddress",
  ],
  Audit: [
    "AuditAdmin",
    "AuditDelegate",
    "AuditEnabled",
    "AuditLogAgeLimit",
    "AuditOwner",
    "DefaultAuditSet",
    "ExternalDirectoryObjectId",
  ],
  Custom: [
    ...Array.from({ length: 15 }, (_, i) => `CustomAttribute${i + 1}`),
    ...Array.from({ length: 5 }, (_, i) => `ExtensionCustomAttribute${i + 1}`),
    "ExternalDirectoryObjectId",
  ],
  Delivery: [
    "AcceptMessagesOnlyFrom",
    "AcceptMessagesOnlyFromDLMembers",
    "AcceptMessagesOnlyFromSendersOrMembers",
    "DeliverToMailboxAndForward",
    "DowngradeHighPriorityMessagesEnabled",
    "ExternalDirectoryObjectId",
    "ForwardingAddress",
    "ForwardingSmtpAddress",
    "GrantSendOnBehalfTo",
    "MaxBlockedSenders",
    "MaxReceiveSize",
    "MaxSafeSenders",
    "MaxSendSize",
    "MessageCopyForSendOnBehalfEnabled",
    "MessageCopyForSentAsEnabled",
    "MessageRecallProcessingEnabled",
    "MessageTrackingReadStatusEnabled",
    "RecipientLimits",
    "RejectMessagesFrom",
    "RejectMessagesFromDLMembers",
    "RejectMessagesFromSendersOrMembers",
    "RulesQuota",
  ],
  Hold: [
    "ComplianceTagHoldApplied",
    "DelayHoldApplied",
    "ExternalDirectoryObjectId",
    "InPlaceHolds",
    "InactiveMailboxRetireTime",
    "LitigationHoldDate",
    "LitigationHoldDuration",
    "LitigationHoldEnabled",
    "LitigationHoldOwner",
  ],
  Moderation: [
    "BypassModerationFromSendersOrMembers",
    "ExternalDirectoryObjectId",
    "ModeratedBy",
    "ModerationEnabled",
    "SendModerationNotifications",
  ],
  Move: [
    "ExternalDirectoryObjectId",
    "MailboxMoveBatchName",
    "MailboxMoveFlags",
    "MailboxMoveRemoteHostName",
    "MailboxMoveSourceMDB",
    "MailboxMoveStatus",
    "MailboxMoveTargetMDB",
  ],
  Policy: [
    "AddressBookPolicy",
    "DataEncryptionPolicy",
    "EmailAddressPolicyEnabled",
    "ExternalDirectoryObjectId",
    "ManagedFolderMailboxPolicy",
    "PoliciesExcluded",
    "PoliciesIncluded",
    "RemoteAccountPolicy",
    "RetentionPolicy",
    "RetentionUrl",
    "RoleAssignmentPolicy",
    "SharingPolicy",
    "ThrottlingPolicy",
  ],
  PublicFolder: [
    "DefaultPublicFolderMailbox",
    "EffectivePublicFolderMailbox",
    "ExternalDirectoryObjectId",
    "IsExcludedFromServingHierarchy",
    "IsHierarchyReady",
    "IsHierarchySyncEnabled",
    "IsRootPublicFolderMailbox",
  ],
  Quota: [
    "ArchiveQuota",
    "ArchiveWarningQuota",
    "CalendarLoggingQuota",
    "ExternalDirectoryObjectId",
    "IssueWarningQuota",
    "ProhibitSendQuota",
    "ProhibitSendReceiveQuota",
    "RecoverableItemsQuota",
    "RecoverableItemsWarningQuota",
    "RulesQuota",
    "UseDatabaseQuotaDefaults",
  ],
  Resource: [
    "ExternalDirectoryObjectId",
    "IsResource",
    "ResourceCapacity",
    "ResourceCustom",
    "ResourceType",
    "RoomMailboxAccountEnabled",
  ],
  Retention: [
    "EndDateForRetentionHold",
    "ExternalDirectoryObjectId",
    "OrphanSoftDeleteTrackingTime",
    "RetainDeletedItemsFor",
    "RetainDeletedItemsUntilBackup",
    "RetentionComment",
    "RetentionHoldEnabled",
    "RetentionPolicy",
    "RetentionUrl",
    "SingleItemRecoveryEnabled",
    "StartDateForRetentionHold",
    "UseDatabaseRetentionDefaults",
  ],
  SCL: [
    "AntispamBypassEnabled",
    "ExternalDirectoryObjectId",
    "SCLDeleteEnabled",
    "SCLDeleteThreshold",
    "SCLJunkEnabled",
    "SCLJunkThreshold",
    "SCLQuarantineEnabled",
    "SCLQuarantineThreshold",
    "SCLRejectEnabled",
    "SCLRejectThreshold",
  ],
  SoftDelete: [
    "ExternalDirectoryObjectId",
    "IncludeInGarbageCollection",
    "IsInactiveMailbox",
    "IsSoftDeletedByDisable",
    "IsSoftDeletedByRemove",
    "WhenSoftDeleted",
  ],
  StatisticsSeed: ["ArchiveDatabaseGuid", "DatabaseGuid", "ExchangeGuid", "ExternalDirectoryObjectId"],
};

const STATISTICS_SETS: Record<string, readonly string[]> = {
  Minimum: [
    "DeletedItemCount",
    "DisplayName",
    "ItemCount",
    "MailboxGuid",
    "TotalDeletedItemSize",
    "TotalItemSize",
  ],
  // "All" is every property the server returns (no projection), like -PropertySets All of the module.
};

const RECIPIENT_SETS: Record<string, readonly string[]> = {
  Minimum: [
    "ExchangeVersion",
    "ExternalDirectoryObjectId",
    "Name",
    "OrganizationId",
    "RecipientType",
    "RecipientTypeDetails",
  ],
  Archive: ["ArchiveDatabase", "ArchiveGuid", "ArchiveRelease", "ArchiveState", "ArchiveStatus"],
  Custom: [
    ...Array.from({ length: 15 }, (_, i) => `CustomAttribute${i + 1}`),
    ...Array.from({ length: 5 }, (_, i) => `ExtensionCustomAttribute${i + 1}`),
  ],
  MailboxMove: [
    "MailboxMoveBatchName",
    "MailboxMoveFlags",
    "MailboxMoveRemoteHostName",
    "MailboxMoveSourceMDB",
    "MailboxMoveStatus",
    "MailboxMoveTargetMDB",
  ],
  Policy: [
    "ActiveSyncMailboxPolicy",
    "ActiveSyncMailboxPolicyIsDefaulted",
    "AddressBookPolicy",
    "EmailAddressPolicyEnabled",
    "ManagedFolderMailboxPolicy",
    "OwaMailboxPolicy",
    "PoliciesExcluded",
    "PoliciesIncluded",
    "RetentionPolicy",
    "SharingPolicy",
    "ShouldUseDefaultRetentionPolicy",
    "UMMailboxPolicy",
  ],
};

const CAS_SETS: Record<string, readonly string[]> = {
  Minimum: [
    "ActiveSyncEnabled",
    "DisplayName",
    "ECPEnabled",
    "EmailAddresses",
    "EwsEnabled",
    "ExchangeVersion",
    "Guid",
    "Identity",
    "ImapEnabled",
    "MAPIEnabled",
    "Name",
    "OWAEnabled",
    "OrganizationId",
    "PopEnabled",
    "PrimarySmtpAddress",
    "ServerLegacyDN",
  ],
  ActiveSync: [
    "ActiveSyncAllowedDeviceIDs",
    "ActiveSyncBlockedDeviceIDs",
    "ActiveSyncEnabled",
    "ActiveSyncMailboxPolicy",
    "ActiveSyncMailboxPolicyIsDefaulted",
    "ActiveSyncSuppressReadReceipt",
    "ExternalDirectoryObjectId",
    "Guid",
    "HasActiveSyncDevicePartnership",
    "Identity",
    "Name",
    "OrganizationId",
  ],
  Ews: [
    "EwsAllowMacOutlook",
    "EwsAllowOutlook",
    "EwsEnabled",
    "ExternalDirectoryObjectId",
    "Guid",
    "Identity",
    "Name",
    "OrganizationId",
  ],
  Imap: [
    "ExternalDirectoryObjectId",
    "Guid",
    "Identity",
    "ImapEnableExactRFC822Size",
    "ImapEnabled",
    "ImapForceICalForCalendarRetrievalOption",
    "ImapMessagesRetrievalMimeFormat",
    "ImapSuppressReadReceipt",
    "ImapUseProtocolDefaults",
    "Name",
    "OrganizationId",
  ],
  Mapi: [
    "ExternalDirectoryObjectId",
    "Guid",
    "Identity",
    "MAPIBlockOutlookExternalConnectivity",
    "MAPIBlockOutlookNonCachedMode",
    "MAPIBlockOutlookRpcHttp",
    "MAPIBlockOutlookVersions",
    "MAPIEnabled",
    "MapiHttpEnabled",
    "Name",
    "OrganizationId",
  ],
  Pop: [
    "ExternalDirectoryObjectId",
    "Guid",
    "Identity",
    "Name",
    "OrganizationId",
    "PopEnableExactRFC822Size",
    "PopEnabled",
    "PopMessagesRetrievalMimeFormat",
    "PopSuppressReadReceipt",
    "PopUseProtocolDefaults",
  ],
  ProtocolSettings: [
    "ExternalDirectoryObjectId",
    "ExternalImapSettings",
    "ExternalPopSettings",
    "ExternalSmtpSettings",
    "Guid",
    "Identity",
    "InternalImapSettings",
    "InternalPopSettings",
    "InternalSmtpSettings",
    "Name",
    "OrganizationId",
  ],
};

const MAILBOX_IDS = ["ExternalDirectoryObjectId", "PrimarySmtpAddress", "UserPrincipalName"] as const;

interface ExoCmdlet {
  /** the module's spelling */
  name: string;
  /** what the server runs */
  classic: string;
  /** the module's mailbox-identity parameters, sent as `target` */
  ids: readonly string[];
  /** the classic parameter they become */
  target: "Identity" | "Mailbox";
  /** property sets; undefined = the cmdlet has no -PropertySets/-Properties, rows are returned whole */
  sets?: Record<string, readonly string[]>;
}

/** The module's nine Get-EXO* cmdlets and their classic equivalents (docs/invoke.md has the table). */
export const EXO_CMDLETS: readonly ExoCmdlet[] = [
  {
    name: "Get-EXOMailbox",
    classic: "Get-Mailbox",
    ids: MAILBOX_IDS,
    target: "Identity",
    sets: MAILBOX_SETS,
  },
  {
    name: "Get-EXOMailboxStatistics",
    classic: "Get-MailboxStatistics",
    ids: [...MAILBOX_IDS, "ExchangeGuid"],
    target: "Identity",
    sets: STATISTICS_SETS,
  },
  {
    name: "Get-EXORecipient",
    classic: "Get-Recipient",
    ids: MAILBOX_IDS,
    target: "Identity",
    sets: RECIPIENT_SETS,
  },
  {
    name: "Get-EXOCasMailbox",
    classic: "Get-CASMailbox",
    ids: MAILBOX_IDS,
    target: "Identity",
    sets: CAS_SETS,
  },
  {
    name: "Get-EXOMailboxPermission",
    classic: "Get-MailboxPermission",
    ids: MAILBOX_IDS,
    target: "Identity",
  },
  {
    name: "Get-EXORecipientPermission",
    classic: "Get-RecipientPermission",
    ids: MAILBOX_IDS,
    target: "Identity",
  },
  {
    name: "Get-EXOMailboxFolderStatistics",
    classic: "Get-MailboxFolderStatistics",
    ids: MAILBOX_IDS,
    target: "Identity",
  },
  {
    name: "Get-EXOMailboxFolderPermission",
    classic: "Get-MailboxFolderPermission",
    ids: MAILBOX_IDS,
    target: "Identity",
  },
  // -Identity is the device here; the mailbox-identity parameters select the mailbox (-Mailbox).
  {
    name: "Get-EXOMobileDeviceStatistics",
    classic: "Get-MobileDeviceStatistics",
    ids: MAILBOX_IDS,
    target: "Mailbox",
  },
];

const BY_NAME = new Map(EXO_CMDLETS.map((c) => [c.name.toLowerCase(), c]));

/** What to send instead of a Get-EXO* call, and how to shape the rows that come back. */
export interface ExoTranslation {
  /** the module's name as the caller wrote it */
  requested: string;
  cmdlet: string;
  params: CmdletParameters;
  /** keep only these properties (lower-case names, `*` wildcards allowed); undefined = whole rows */
  select?: PropertySelection;
}

export interface PropertySelection {
  exact: ReadonlySet<string>;
  patterns: readonly RegExp[];
  /**
   * Wire key → keep it, decided once per key name (rows of one cmdlet repeat the same keys, and the
   * report makes 100,000 calls with one selection). Filled by `selectProperties`.
   */
  decided?: Map<string, boolean>;
}

/** Selections by cmdlet and property list: made once, shared by every call that asks the same. */
const SELECTIONS = new Map<string, PropertySelection>();
const MAX_CACHED_SELECTIONS = 256;

const listOf = (value: ParameterValue, name: string): string[] => {
  const items = Array.isArray(value) ? value : [value];
  return items.flatMap((item) => {
    if (typeof item !== "string")
      throw new UsageError(`-${name} takes names, e.g. -${name} Minimum,Archive.`);
    return item
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  });
};

const wildcard = (pattern: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i");

/**
 * The classic call for a Get-EXO* name, or undefined for any other cmdlet. Throws UsageError for what the
 * module itself would refuse: two mailbox identities at once, an unknown property set, `-PropertySets` on
 * a cmdlet that has none.
 */
export function translateExoCmdlet(
  cmdlet: string,
  params: CmdletParameters = {},
): ExoTranslation | undefined {
  const def = BY_NAME.get(cmdlet.trim().toLowerCase());
  if (!def) return undefined;
  const out: CmdletParameters = {};
  let propertySets: string[] | undefined;
  let properties: string[] | undefined;
  const identities: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    const lower = key.toLowerCase();
    if (value === undefined) continue;
    if (lower === "propertysets") {
      propertySets = listOf(value, "PropertySets");
      continue;
    }
    if (lower === "properties") {
      properties = listOf(value, "Properties");
      continue;
    }
    // -Identity (and -Mailbox where the classic cmdlet has it) pass through; the module's extra mailbox
    // identities become the classic parameter. The module documents all of them as mutually exclusive.
    const id = def.ids.find((p) => p.toLowerCase() === lower);
    const own =
      lower === "identity"
        ? "Identity"
        : lower === "mailbox" && def.target === "Mailbox"
          ? "Mailbox"
          : undefined;
    if (id || own) {
      identities.push(id ?? own ?? key);
      out[id ? def.target : (own as string)] = value;
      continue;
    }
    out[key] = value;
  }
  if (identities.length > 1) {
    const choices = def.target === "Mailbox" ? ["Identity", "Mailbox", ...def.ids] : ["Identity", ...def.ids];
    throw new UsageError(`${def.name}: -${identities.join(" and -")} cannot be used together.`, {
      hint: `Give one of -${choices.join(", -")}.`,
    });
  }
  const translation: ExoTranslation = { requested: cmdlet, cmdlet: def.classic, params: out };
  if (!def.sets) {
    if (propertySets || properties) {
      throw new UsageError(
        `${def.name} has no -PropertySets or -Properties parameter; it returns whole objects.`,
      );
    }
    return translation;
  }
  const names: string[] = [...(def.sets.Minimum ?? [])];
  for (const set of propertySets ?? []) {
    if (set.toLowerCase() === "all") return translation;
    const key = Object.keys(def.sets).find((k) => k.toLowerCase() === set.toLowerCase());
    if (!key) {
      throw new UsageError(`${def.name}: unknown property set '${set}'.`, {
        hint: `Valid property sets: All, ${Object.keys(def.sets).join(", ")}.`,
      });
    }
    names.push(...(def.sets[key] ?? []));
  }
  const cacheKey = `${def.name}\n${[...names, ...(properties ?? [])].join("\n")}`;
  const cached = SELECTIONS.get(cacheKey);
  if (cached) {
    translation.select = cached;
    return translation;
  }
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const name of [...names, ...(properties ?? [])]) {
    if (name.includes("*")) patterns.push(wildcard(name));
    else exact.add(name.toLowerCase());
  }
  translation.select = { exact, patterns, decided: new Map() };
  if (SELECTIONS.size >= MAX_CACHED_SELECTIONS) SELECTIONS.clear();
  SELECTIONS.set(cacheKey, translation.select);
  return translation;
}

/**
 * Keep the selected properties of one wire row (their `Name@odata.type`-style annotations too, and any
 * row-level `@…` annotation). Runs on the wire row, before normalisation adds `…Bytes` fields.
 */
export function selectProperties(
  row: Record<string, unknown>,
  select: PropertySelection,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const decided = select.decided;
  for (const key in row) {
    let keep = decided?.get(key);
    if (keep === undefined) {
      const at = key.indexOf("@");
      const base = (at > 0 ? key.slice(0, at) : key).toLowerCase();
      keep = at === 0 || select.exact.has(base) || select.patterns.some((p) => p.test(base));
      // Bounded: a hostile server sending ever new key names must not grow it without end.
      if (decided && decided.size < 10_000) decided.set(key, keep);
    }
    if (keep) out[key] = row[key];
  }
  return out;
}
