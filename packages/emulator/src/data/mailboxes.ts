/**
 * Deterministic mailbox data of an emulated tenant. Every mailbox (and every other recipient) is a
 * pure function of (seed, index): nothing is stored per mailbox, so a 1,000,000-mailbox tenant costs
 * almost no memory and any page can be generated on demand.
 *
 * Naming scheme (parseable back to the index, so lookups are O(1) without maps):
 *   index 0                 DiscoveryMailbox  DiscoverySearchMailbox{D919BA05-46A6-415f-80AD-7E09334BB852}@domain
 *   UserMailbox             user000123@domain        display name "Adele Vance 000123"
 *   SharedMailbox           shared000456@domain      "Shared Sales 000456"
 *   RoomMailbox             room000789@domain        "Room Oslo 000789"
 *   EquipmentMailbox        equipment000812@domain   "Equipment Projector 000812"
 *   non-mailbox recipients  mailuser…, contact…, dl…, group… numbered from `count` upwards
 * The number is the index, zero-padded to at least six digits. GUIDs embed a keyed permutation of
 * the index in their last eight hex digits (see prng.ts), so GUID identities are O(1) as well.
 */

import type { MailboxRecord, UsageTruth } from "../types.js";
import { formatExchangeDateTime } from "./formats.js";
import { between, deterministicGuid, guidIndex, hash32, logNormal, uniform } from "./prng.js";

export type MailboxType = MailboxRecord["recipientTypeDetails"];

export interface MailboxDataset {
  /** active + inactive mailboxes */
  readonly count: number;
  /** generated on demand, deterministic from (seed, index) */
  mailbox(index: number): MailboxRecord;
  /** the numeric core of `mailbox(index)` (type, inactive, sizes) without building any string: ~10× cheaper, for data derived from every mailbox (the VB365 backups) */
  shape(index: number): MailboxShape;
  /** by UPN, SMTP address, alias/name, GUID (mailbox, ExternalDirectoryObjectId, archive) or display name, in O(1) */
  findIndex(identity: string): number | undefined;
  /** mailboxes (active and inactive) + non-mailbox recipients (mail users, contacts, groups): the recipient index space */
  recipientCount(): number;
  /** Get-Recipient object; indices below `count` are the mailboxes (check `mailbox(i).inactive` before listing) */
  recipient(index: number): Record<string, unknown>;
  /** like findIndex over the whole recipient index space */
  findRecipientIndex(identity: string): number | undefined;
  /** exact truth computed from the seed by iterating the generator (O(n) time, O(1) memory) */
  expectedUsage(): UsageTruth;
}

export interface MailboxDatasetOptions {
  seed: number;
  count: number;
  domain: string;
  tenantId: string;
}

/** The generated data's "now": fixed, so the same seed gives the same timestamps on every run. */
export const GENERATED_AT_MS = Date.UTC(2026, 9, 1);

export const DISCOVERY_ALIAS = "DiscoverySearchMailbox{D919BA05-46A6-415f-80AD-7E09334BB852}";

const DAY_MS = 86_400_000;
const GIB = 1024 ** 3;
/** Share of non-mailbox recipients (mail users, contacts, groups) relative to the mailbox count. */
const OTHER_RECIPIENT_RATIO = 0.15;

/** PRNG field numbers: each generated attribute draws from its own stream. */
const F = {
  type: 1,
  inactive: 2,
  archive: 3,
  primarySize: 4,
  huge: 5,
  hugeSize: 6,
  itemSize: 7,
  deletedFraction: 8,
  deletedJitter: 9,
  archiveSize: 10,
  archiveItemSize: 11,
  archiveDeletedFraction: 12,
  archiveDeletedJitter: 13,
  neverLoggedOn: 14,
  logonAge: 15,
  created: 16,
  firstName: 17,
  lastName: 18,
  label: 19,
  recipientKind: 20,
  guidMailbox: 21,
  guidExternal: 22,
  guidArchive: 23,
  guidRecipient: 24,
  guidRecipientExternal: 25,
  noStatistics: 26,
} as const;

/** Share of never-logged-on mailboxes whose statistics are only a warning (the store object never made). */
const NO_STATISTICS_SHARE = 0.5;

const EMPTY_STATS = { totalItemBytes: 0, itemCount: 0, deletedItemBytes: 0, deletedItemCount: 0 } as const;

const FIRST_NAMES = [
  "Adele",
  "Alex",
  "Allan",
  "Amara",
  "Bianca",
  "Brian",
  "Cameron",
  "Christie",
  "Debra",
  "Diego",
  "Emily",
  "Enrico",
  "Grady",
  "Hana",
  "Henrietta",
  "Ines",
  "Irvin",
  "Isaiah",
  "Johanna",
  "Joni",
  "Kofi",
  "Lars",
  "Lee",
  "Lidia",
  "Lynne",
  "Mateo",
  "Megan",
  "Miriam",
  "Nestor",
  "Olu",
  "Patti",
  "Pradeep",
  "Priya",
  "Raul",
  "Sakura",
  "Sven",
  "Tomasz",
  "Wei",
  "Yuki",
  "Zainab",
];
const LAST_NAMES = [
  "Vance",
  "Wilber",
  "Deyoung",
  "Okafor",
  "Pinto",
  "Johnson",
  "White",
  "Cline",
  "Berry",
  "Siciliani",
  "Braun",
  "Gianni",
  "Archie",
  "Sato",
  "Bright",
  "Moreau",
  "Sherman",
  "Leclerc",
  "Lauer",
  "Sherman",
  "Mensah",
  "Nilsson",
  "Gu",
  "Holloway",
  "Robinson",
  "Garcia",
  "Bowen",
  "Graham",
  "Wilke",
  "Adeyemi",
  "Fernandez",
  "Gupta",
  "Raman",
  "Gonzalez",
  "Tanaka",
  "Lindqvist",
  "Kowalski",
  "Zhang",
  "Mori",
  "Haddad",
];
const SHARED_LABELS = [
  "Sales",
  "Support",
  "Finance",
  "HR",
  "Marketing",
  "Legal",
  "Reception",
  "Operations",
  "Payroll",
  "Press",
];
const ROOM_CITIES = [
  "Oslo",
  "Lagos",
  "Lima",
  "Kyoto",
  "Porto",
  "Dublin",
  "Quebec",
  "Austin",
  "Perth",
  "Tallinn",
];
const EQUIPMENT_LABELS = ["Projector", "Van", "Camera", "Laptop Pool", "Bike", "Drone"];

const PREFIX_BY_TYPE: Record<Exclude<MailboxType, "DiscoveryMailbox">, string> = {
  UserMailbox: "user",
  SharedMailbox: "shared",
  RoomMailbox: "room",
  EquipmentMailbox: "equipment",
};

type OtherKind = "MailUser" | "MailContact" | "MailUniversalDistributionGroup" | "GroupMailbox";
const PREFIX_BY_OTHER: Record<OtherKind, string> = {
  MailUser: "mailuser",
  MailContact: "contact",
  MailUniversalDistributionGroup: "dl",
  GroupMailbox: "group",
};

type Stats = MailboxRecord["primary"];

/** The numeric core of a mailbox: everything the usage truth needs, without building strings. */
export interface MailboxShape {
  type: MailboxType;
  inactive: boolean;
  neverLoggedOn: boolean;
  noStatistics: boolean;
  primary: Stats;
  archive: Stats | undefined;
}

function pick<T>(list: readonly T[], u: number): T {
  return list[Math.floor(u * list.length)]!;
}

/** A truth with every count at zero: the starting point of the oracle (and of fakes in tests). */
export function emptyUsageTruth(): UsageTruth {
  return {
    recipients: 0,
    mailboxes: 0,
    mailboxesByType: {},
    inactiveMailboxes: 0,
    archives: 0,
    primaryBytes: 0,
    primaryItems: 0,
    deletedBytes: 0,
    deletedItems: 0,
    archiveBytes: 0,
    archiveItems: 0,
    archiveDeletedBytes: 0,
    totalProtectedBytes: 0,
    mailboxesWithoutStatistics: 0,
  };
}

export function createMailboxDataset(options: MailboxDatasetOptions): MailboxDataset {
  const { seed, count, domain, tenantId } = options;
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`mailbox count must be >= 0: ${count}`);
  // GUIDs also depend on the tenant, so two tenants generated from one seed never share object ids.
  const guidSeed = [...tenantId].reduce((h, ch) => hash32(h, ch.charCodeAt(0), 0), seed);
  const otherCount = Math.round(count * OTHER_RECIPIENT_RATIO);
  const totalRecipients = count + otherCount;
  const width = Math.max(6, String(Math.max(totalRecipients - 1, 0)).length);
  const routingDomain = domain.toLowerCase().endsWith(".onmicrosoft.com")
    ? domain.replace(/\.onmicrosoft\.com$/i, ".mail.onmicrosoft.com")
    : `${domain}.mail.onmicrosoft.com`;

  const number = (index: number) => String(index).padStart(width, "0");

  function typeOf(index: number): MailboxType {
    if (index === 0) return "DiscoveryMailbox";
    const u = uniform(seed, index, F.type);
    if (u < 0.84) return "UserMailbox";
    if (u < 0.94) return "SharedMailbox";
    if (u < 0.98) return "RoomMailbox";
    return "EquipmentMailbox";
  }

  function stats(
    index: number,
    bytes: number,
    itemField: number,
    fractionField: number,
    jitterField: number,
  ): Stats {
    const averageItemBytes = between(seed, index, itemField, 40_000, 120_000);
    const itemCount = Math.max(1, Math.round(bytes / averageItemBytes));
    const deletedFraction = between(seed, index, fractionField, 0.01, 0.1);
    return {
      totalItemBytes: bytes,
      itemCount,
      deletedItemBytes: Math.round(bytes * deletedFraction),
      deletedItemCount: Math.round(itemCount * deletedFraction * between(seed, index, jitterField, 0.8, 1.2)),
    };
  }

  function primaryBytes(index: number, type: MailboxType): number {
    const personal = type === "UserMailbox" || type === "SharedMailbox";
    if (personal && uniform(seed, index, F.huge) < 0.002) {
      return Math.round(between(seed, index, F.hugeSize, 50 * GIB, 100 * GIB));
    }
    const [median, sigma] =
      type === "UserMailbox"
        ? [900e6, 1.0]
        : type === "SharedMailbox"
          ? [600e6, 1.1]
          : type === "DiscoveryMailbox"
            ? [10e6, 0.3]
            : [15e6, 0.8];
    return Math.round(
      Math.min(100 * GIB, Math.max(50_000, logNormal(seed, index, F.primarySize, median, sigma))),
    );
  }

  function shape(index: number): MailboxShape {
    const type = typeOf(index);
    const inactive = type === "UserMailbox" && uniform(seed, index, F.inactive) < 0.036;
    const neverLoggedOnShare =
      type === "UserMailbox" ? 0.04 : type === "SharedMailbox" ? 0.4 : type === "DiscoveryMailbox" ? 1 : 0.85;
    const neverLoggedOn = uniform(seed, index, F.neverLoggedOn) < neverLoggedOnShare;
    // A share of the never-logged-on mailboxes has no store data yet: statistics are only a warning.
    const noStatistics =
      neverLoggedOn &&
      type !== "DiscoveryMailbox" &&
      uniform(seed, index, F.noStatistics) < NO_STATISTICS_SHARE;
    if (noStatistics) {
      return { type, inactive, neverLoggedOn, noStatistics, primary: { ...EMPTY_STATS }, archive: undefined };
    }
    const hasArchive =
      (type === "UserMailbox" || type === "SharedMailbox") && uniform(seed, index, F.archive) < 0.32;
    const primary = stats(index, primaryBytes(index, type), F.itemSize, F.deletedFraction, F.deletedJitter);
    let archive: Stats | undefined;
    if (hasArchive) {
      const bytes = Math.round(
        Math.min(100 * GIB, Math.max(1_000_000, logNormal(seed, index, F.archiveSize, 2.5e9, 1.2))),
      );
      archive = stats(index, bytes, F.archiveItemSize, F.archiveDeletedFraction, F.archiveDeletedJitter);
    }
    return { type, inactive, neverLoggedOn, noStatistics, primary, archive };
  }

  function checkIndex(index: number, limit: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= limit) {
      throw new RangeError(`index ${index} outside 0..${limit - 1}`);
    }
  }

  function mailbox(index: number): MailboxRecord {
    checkIndex(index, count);
    const { type, inactive, neverLoggedOn, noStatistics, primary, archive } = shape(index);
    let alias: string;
    let displayName: string;
    switch (type) {
      case "DiscoveryMailbox":
        alias = DISCOVERY_ALIAS;
        displayName = "Discovery Search Mailbox";
        break;
      case "UserMailbox":
        alias = `user${number(index)}`;
        displayName = `${pick(FIRST_NAMES, uniform(seed, index, F.firstName))} ${pick(LAST_NAMES, uniform(seed, index, F.lastName))} ${number(index)}`;
        break;
      case "SharedMailbox":
        alias = `shared${number(index)}`;
        displayName = `Shared ${pick(SHARED_LABELS, uniform(seed, index, F.label))} ${number(index)}`;
        break;
      case "RoomMailbox":
        alias = `room${number(index)}`;
        displayName = `Room ${pick(ROOM_CITIES, uniform(seed, index, F.label))} ${number(index)}`;
        break;
      case "EquipmentMailbox":
        alias = `equipment${number(index)}`;
        displayName = `Equipment ${pick(EQUIPMENT_LABELS, uniform(seed, index, F.label))} ${number(index)}`;
        break;
    }
    const address = `${alias}@${domain}`;
    const createdMs =
      GENERATED_AT_MS - Math.floor(between(seed, index, F.created, 30 * DAY_MS, 8 * 365 * DAY_MS));
    let lastLogonTime: string | null = null;
    if (!neverLoggedOn) {
      const u = uniform(seed, index, F.logonAge);
      // Active mailboxes were mostly used recently; inactive ones stopped being used months ago.
      const ageMs = inactive ? (180 + u * 500) * DAY_MS : u * u * 60 * DAY_MS;
      const logonMs = Math.max(createdMs, GENERATED_AT_MS - Math.floor(ageMs));
      lastLogonTime = new Date(Math.floor(logonMs / 1000) * 1000).toISOString();
    }
    return {
      index,
      guid: deterministicGuid(guidSeed, index, F.guidMailbox),
      externalDirectoryObjectId: deterministicGuid(guidSeed, index, F.guidExternal),
      displayName,
      alias,
      userPrincipalName: address,
      primarySmtpAddress: address,
      recipientTypeDetails: type,
      inactive,
      archiveStatus: archive ? "Active" : "None",
      archiveGuid: archive
        ? deterministicGuid(guidSeed, index, F.guidArchive)
        : "00000000-0000-0000-0000-000000000000",
      primary,
      ...(archive ? { archive } : {}),
      lastLogonTime,
      noStatistics,
      whenCreatedUtc: new Date(Math.floor(createdMs / 1000) * 1000).toISOString(),
    };
  }

  function otherKind(index: number): OtherKind {
    const u = uniform(seed, index, F.recipientKind);
    if (u < 0.3) return "MailUser";
    if (u < 0.6) return "MailContact";
    if (u < 0.8) return "MailUniversalDistributionGroup";
    return "GroupMailbox";
  }

  function otherRecipient(index: number): Record<string, unknown> {
    const kind = otherKind(index);
    const alias = `${PREFIX_BY_OTHER[kind]}${number(index)}`;
    const name =
      kind === "MailUser" || kind === "MailContact"
        ? `${pick(FIRST_NAMES, uniform(seed, index, F.firstName))} ${pick(LAST_NAMES, uniform(seed, index, F.lastName))} ${number(index)}`
        : `${kind === "GroupMailbox" ? "Team" : "List"} ${pick(SHARED_LABELS, uniform(seed, index, F.label))} ${number(index)}`;
    const external = `${alias}@partner.example`;
    const primary = kind === "MailContact" ? external : `${alias}@${domain}`;
    const recipientType =
      kind === "GroupMailbox" ? "MailUniversalDistributionGroup" : kind === "MailUser" ? "MailUser" : kind;
    const createdMs =
      GENERATED_AT_MS - Math.floor(between(seed, index, F.created, 30 * DAY_MS, 8 * 365 * DAY_MS));
    return {
      Name: alias,
      Alias: alias,
      DisplayName: name,
      Identity: alias,
      Guid: deterministicGuid(guidSeed, index, F.guidRecipient),
      ExternalDirectoryObjectId:
        kind === "MailContact" ? "" : deterministicGuid(guidSeed, index, F.guidRecipientExternal),
      RecipientType: recipientType,
      RecipientTypeDetails: kind,
      PrimarySmtpAddress: primary,
      EmailAddresses:
        kind === "MailContact" ? [`SMTP:${external}`] : [`SMTP:${primary}`, `smtp:${alias}@${routingDomain}`],
      ExternalEmailAddress: kind === "MailUser" || kind === "MailContact" ? `SMTP:${external}` : null,
      ArchiveStatus: "None",
      ArchiveGuid: "00000000-0000-0000-0000-000000000000",
      WhenCreatedUTC: formatExchangeDateTime(new Date(Math.floor(createdMs / 1000) * 1000).toISOString()),
    };
  }

  function mailboxRecipient(index: number): Record<string, unknown> {
    const m = mailbox(index);
    return {
      Name: m.alias,
      Alias: m.alias,
      DisplayName: m.displayName,
      Identity: m.alias,
      Guid: m.guid,
      ExternalDirectoryObjectId: m.externalDirectoryObjectId,
      RecipientType: "UserMailbox",
      RecipientTypeDetails: m.recipientTypeDetails,
      PrimarySmtpAddress: m.primarySmtpAddress,
      EmailAddresses: [`SMTP:${m.primarySmtpAddress}`, `smtp:${m.alias}@${routingDomain}`],
      ExternalEmailAddress: null,
      ArchiveStatus: m.archiveStatus,
      ArchiveGuid: m.archiveGuid,
      WhenCreatedUTC: formatExchangeDateTime(m.whenCreatedUtc),
    };
  }

  /** Every index a textual identity could name: digit runs in it (the naming scheme) and the GUID tail. */
  function candidates(identity: string): number[] {
    const out: number[] = [];
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(identity)) {
      for (const field of [
        F.guidMailbox,
        F.guidExternal,
        F.guidArchive,
        F.guidRecipient,
        F.guidRecipientExternal,
      ]) {
        out.push(guidIndex(guidSeed, field, identity));
      }
      return out;
    }
    for (const run of identity.match(/\d+/g)?.slice(0, 8) ?? []) out.push(Number(run));
    if (identity.startsWith("discovery")) out.push(0);
    return out;
  }

  function mailboxMatches(index: number, wanted: string): boolean {
    const m = mailbox(index);
    return [
      m.alias,
      m.userPrincipalName,
      m.displayName,
      m.guid,
      m.externalDirectoryObjectId,
      m.archiveGuid,
    ].some((value) => value.toLowerCase() === wanted);
  }

  function findIndex(identity: string): number | undefined {
    const wanted = identity.trim().toLowerCase();
    if (!wanted || wanted === "00000000-0000-0000-0000-000000000000") return undefined;
    for (const index of candidates(wanted)) {
      if (index < count && mailboxMatches(index, wanted)) return index;
    }
    return undefined;
  }

  function findRecipientIndex(identity: string): number | undefined {
    const mailboxIndex = findIndex(identity);
    if (mailboxIndex !== undefined) return mailboxIndex;
    const wanted = identity.trim().toLowerCase();
    for (const index of candidates(wanted)) {
      if (index < count || index >= totalRecipients) continue;
      const r = otherRecipient(index);
      const keys = ["Alias", "DisplayName", "PrimarySmtpAddress", "Guid", "ExternalDirectoryObjectId"];
      if (keys.some((key) => String(r[key]).toLowerCase() === wanted)) return index;
    }
    return undefined;
  }

  function expectedUsage(): UsageTruth {
    const truth: UsageTruth = { ...emptyUsageTruth(), recipients: otherCount };
    for (let index = 0; index < count; index++) {
      const s = shape(index);
      if (s.inactive) {
        truth.inactiveMailboxes++;
        continue;
      }
      truth.recipients++;
      truth.mailboxes++;
      truth.mailboxesByType[s.type] = (truth.mailboxesByType[s.type] ?? 0) + 1;
      truth.primaryBytes += s.primary.totalItemBytes;
      truth.primaryItems += s.primary.itemCount;
      truth.deletedBytes += s.primary.deletedItemBytes;
      truth.deletedItems += s.primary.deletedItemCount;
      if (s.noStatistics) truth.mailboxesWithoutStatistics++;
      if (s.archive) {
        truth.archives++;
        truth.archiveBytes += s.archive.totalItemBytes;
        truth.archiveItems += s.archive.itemCount;
        truth.archiveDeletedBytes += s.archive.deletedItemBytes;
      }
    }
    truth.totalProtectedBytes =
      truth.primaryBytes + truth.deletedBytes + truth.archiveBytes + truth.archiveDeletedBytes;
    // Sums of integers in doubles are exact below 2^53; a tenant that large would make the oracle lie.
    if (!Number.isSafeInteger(truth.totalProtectedBytes)) {
      throw new RangeError("tenant too large: byte totals exceed Number.MAX_SAFE_INTEGER");
    }
    return truth;
  }

  return {
    count,
    mailbox,
    shape(index) {
      checkIndex(index, count);
      return shape(index);
    },
    findIndex,
    recipientCount: () => totalRecipients,
    recipient(index) {
      checkIndex(index, totalRecipients);
      return index < count ? mailboxRecipient(index) : otherRecipient(index);
    },
    findRecipientIndex,
    expectedUsage,
  };
}

/** Type names in the order of the naming scheme's prefixes, for documentation and tests. */
export const MAILBOX_PREFIXES = PREFIX_BY_TYPE;
