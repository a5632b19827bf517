/**
 * The cmdlets the emulated Exchange endpoint knows. Like the real InvokeCommand runspace it runs the
 * classic cmdlets only: the module's client-side `Get-EXO*` names are answered with CommandNotFoundException
 * (docs/emulator-exchange.md). Each one binds its parameters and returns a
 * `RowSource`: a scan over positions that generates rows on demand, so listing 1,000,000 mailboxes
 * never holds more than one page.
 */

import type { MailboxDataset } from "../data/mailboxes.js";
import type { MailboxRecord, TenantInfo } from "../types.js";
import { CmdletError, invalidParameterValue, missingMandatoryParameter, objectNotFound } from "./errors.js";
import { compileFilter, type RowPredicate } from "./filter.js";
import type { RowSource } from "./paging.js";
import { BoundParameters } from "./params.js";
import {
  CUSTOM_ATTRIBUTES,
  DIRECTORY_SERVER,
  mailboxRow,
  mailboxRowJson,
  mailboxUserRow,
  mailUserRow,
  organizationId,
  putGuid,
  recipientRow,
  routingDomain,
  statisticsRow,
} from "./properties.js";

type Row = Record<string, unknown>;

/** Get-Mailbox / Get-Recipient default ResultSize, like the real cmdlets. */
export const DEFAULT_RESULT_SIZE = 1000;
/** The warning the service adds when ResultSize cut a result short (reference §3.3). */
export const MORE_RESULTS_WARNING =
  "There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.";

/** Properties Set-Mailbox changes in memory (CustomAttribute1..15 and address-list visibility). */
const SETTABLE_MAILBOX_PROPERTIES = [...CUSTOM_ATTRIBUTES, "HiddenFromAddressListsEnabled"];

/** Per-tenant in-memory changes made by Set-* cmdlets, visible to later Get-* calls. */
export class MailboxOverlay {
  private readonly changes = new Map<number, Row>();
  get(index: number): Row | undefined {
    return this.changes.get(index);
  }
  set(index: number, values: Row): void {
    this.changes.set(index, { ...this.changes.get(index), ...values });
  }
}

export interface CmdletContext {
  tenant: TenantInfo;
  dataset: MailboxDataset;
  overlay: MailboxOverlay;
}

export interface CmdletDefinition {
  /** canonical spelling */
  name: string;
  parameters: readonly string[];
  run(context: CmdletContext, params: BoundParameters): RowSource;
}

const MAILBOX_TYPES = [
  "DiscoveryMailbox",
  "EquipmentMailbox",
  "GroupMailbox",
  "LegacyMailbox",
  "LinkedMailbox",
  "LinkedRoomMailbox",
  "RoomMailbox",
  "SchedulingMailbox",
  "SharedMailbox",
  "TeamMailbox",
  "UserMailbox",
];
const RECIPIENT_TYPES = [
  ...MAILBOX_TYPES,
  "MailUser",
  "MailContact",
  "MailUniversalDistributionGroup",
  "MailUniversalSecurityGroup",
  "DynamicDistributionGroup",
  "GuestMailUser",
  "User",
];

function typeSet(params: BoundParameters, name: string, allowed: string[]): Set<string> | undefined {
  const values = params.list(name);
  if (!values) return undefined;
  const known = new Map(allowed.map((t) => [t.toLowerCase(), t]));
  const out = new Set<string>();
  for (const value of values) {
    const canonical = known.get(value.toLowerCase());
    if (!canonical) {
      throw invalidParameterValue(name, value, `Unknown value. Valid values are: ${allowed.join(", ")}.`);
    }
    out.add(canonical);
  }
  return out;
}

function filterOf(params: BoundParameters): RowPredicate | undefined {
  const text = params.string("Filter");
  return text === undefined ? undefined : compileFilter(text);
}

/** The first identity-like parameter given. */
function identityOf(params: BoundParameters, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = params.string(name);
    if (value !== undefined && value !== "") return value;
  }
  return undefined;
}

function single(row: Row | string | undefined, limit: number): RowSource {
  return { size: row ? 1 : 0, rowAt: () => row, limit };
}

// ---------------------------------------------------------------------------------------------------
// Mailboxes

function mailboxListing(
  context: CmdletContext,
  params: BoundParameters,
  identityParams: readonly string[],
  project: ((full: Row) => Row) | "full",
): RowSource {
  const { dataset, tenant, overlay } = context;
  const inactiveOnly = params.switch("InactiveMailboxOnly");
  const includeInactive = params.switch("IncludeInactiveMailbox");
  const types = typeSet(params, "RecipientTypeDetails", MAILBOX_TYPES);
  const archiveOnly = params.switch("Archive");
  const filter = filterOf(params);
  const limit = params.resultSize(DEFAULT_RESULT_SIZE);
  const visible = (m: MailboxRecord) => (inactiveOnly ? m.inactive : includeInactive || !m.inactive);
  const match = (m: MailboxRecord): Row | string | undefined => {
    if (!visible(m)) return undefined;
    if (types && !types.has(m.recipientTypeDetails)) return undefined;
    if (archiveOnly && m.archiveStatus !== "Active") return undefined;
    const changes = overlay.get(m.index);
    // Fast path for plain listings: serialize straight from the record (same bytes, see properties.test.ts).
    if (project === "full" && !filter && !changes) return mailboxRowJson(m, tenant);
    const full = mailboxRow(m, tenant, changes);
    if (filter && !filter(full)) return undefined;
    return project === "full" ? full : project(full);
  };
  const identity = identityOf(params, identityParams);
  if (identity !== undefined) {
    const index = dataset.findIndex(identity);
    const m = index === undefined ? undefined : dataset.mailbox(index);
    if (!m || !visible(m)) throw objectNotFound(identity, DIRECTORY_SERVER);
    return single(match(m), limit);
  }
  return { size: dataset.count, rowAt: (i) => match(dataset.mailbox(i)), limit };
}

const getMailbox: CmdletDefinition = {
  name: "Get-Mailbox",
  parameters: [
    "Identity",
    "ResultSize",
    "RecipientTypeDetails",
    "Archive",
    "Filter",
    "InactiveMailboxOnly",
    "IncludeInactiveMailbox",
  ],
  run: (context, params) => mailboxListing(context, params, ["Identity"], "full"),
};

function statistics(
  context: CmdletContext,
  params: BoundParameters,
  identityParams: readonly string[],
  project: (row: Row) => Row,
): RowSource {
  const identity = identityOf(params, identityParams);
  if (identity === undefined) throw missingMandatoryParameter("Identity");
  const index = context.dataset.findIndex(identity);
  const m = index === undefined ? undefined : context.dataset.mailbox(index);
  // Inactive (soft-deleted) mailboxes are only visible with -IncludeSoftDeletedRecipients.
  if (!m || (m.inactive && !params.switch("IncludeSoftDeletedRecipients"))) {
    throw objectNotFound(identity, DIRECTORY_SERVER);
  }
  const archive =
    params.switch("Archive") || (m.archive !== undefined && identity.toLowerCase() === m.archiveGuid);
  if (archive && !m.archive) {
    throw new CmdletError(
      404,
      "NotFound",
      "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
      "Ex6F9304",
      `The mailbox '${identity}' doesn't have an archive. Enable one with Enable-Mailbox -Archive or omit -Archive.`,
    );
  }
  if (m.noStatistics && !archive) {
    // Exchange Server's text for a mailbox without store data (docs/emulator-exchange.md: not in our
    // reference, recalled from Exchange; the client only relies on "no object").
    return {
      size: 0,
      rowAt: () => undefined,
      limit: 0,
      warnings: [
        `The user hasn't logged on to mailbox '${m.userPrincipalName}' ('${m.guid}'), so there is no data to return. After the user logs on, this warning will no longer appear.`,
      ],
    };
  }
  return single(project(statisticsRow(m, context.tenant, archive)), Number.POSITIVE_INFINITY);
}

const getMailboxStatistics: CmdletDefinition = {
  name: "Get-MailboxStatistics",
  parameters: ["Identity", "Archive", "IncludeSoftDeletedRecipients"],
  run: (context, params) => statistics(context, params, ["Identity"], (row) => row),
};

// ---------------------------------------------------------------------------------------------------
// Recipients and users

function recipientListing(
  context: CmdletContext,
  params: BoundParameters,
  project: (row: Row) => Row,
): RowSource {
  const { dataset, tenant } = context;
  const includeSoftDeleted = params.switch("IncludeSoftDeletedRecipients");
  const details = typeSet(params, "RecipientTypeDetails", RECIPIENT_TYPES);
  const kinds = typeSet(params, "RecipientType", [
    "UserMailbox",
    "MailUser",
    "MailContact",
    "MailUniversalDistributionGroup",
  ]);
  const filter = filterOf(params);
  const limit = params.resultSize(DEFAULT_RESULT_SIZE);
  const match = (index: number): Row | undefined => {
    if (index < dataset.count && !includeSoftDeleted && dataset.mailbox(index).inactive) return undefined;
    const raw = dataset.recipient(index);
    if (details && !details.has(String(raw.RecipientTypeDetails))) return undefined;
    if (kinds && !kinds.has(String(raw.RecipientType))) return undefined;
    const full = recipientRow(raw, tenant);
    if (filter && !filter(full)) return undefined;
    return project(full);
  };
  const identity = params.string("Identity");
  if (identity !== undefined && identity !== "") {
    const index = dataset.findRecipientIndex(identity);
    const visible =
      index !== undefined &&
      (index >= dataset.count || includeSoftDeleted || !dataset.mailbox(index).inactive);
    if (index === undefined || !visible) throw objectNotFound(identity, DIRECTORY_SERVER);
    return single(match(index), limit);
  }
  return { size: dataset.recipientCount(), rowAt: match, limit };
}

const RECIPIENT_PARAMETERS = [
  "Identity",
  "ResultSize",
  "RecipientTypeDetails",
  "RecipientType",
  "Filter",
  "IncludeSoftDeletedRecipients",
];

const getRecipient: CmdletDefinition = {
  name: "Get-Recipient",
  parameters: RECIPIENT_PARAMETERS,
  run: (context, params) => recipientListing(context, params, (row) => row),
};

const getUser: CmdletDefinition = {
  name: "Get-User",
  parameters: ["Identity", "ResultSize", "RecipientTypeDetails", "Filter"],
  run(context, params) {
    const { dataset, tenant } = context;
    const details = typeSet(params, "RecipientTypeDetails", RECIPIENT_TYPES);
    const filter = filterOf(params);
    const limit = params.resultSize(DEFAULT_RESULT_SIZE);
    const userAt = (index: number): Row | undefined => {
      if (index < dataset.count) {
        const m = dataset.mailbox(index);
        return m.inactive ? undefined : mailboxUserRow(m, tenant);
      }
      const raw = dataset.recipient(index);
      return raw.RecipientTypeDetails === "MailUser" ? mailUserRow(raw, tenant) : undefined;
    };
    const match = (index: number): Row | undefined => {
      const row = userAt(index);
      if (!row) return undefined;
      if (details && !details.has(String(row.RecipientTypeDetails))) return undefined;
      if (filter && !filter(row)) return undefined;
      return row;
    };
    const identity = params.string("Identity");
    if (identity !== undefined && identity !== "") {
      const index = dataset.findRecipientIndex(identity);
      if (index === undefined || !userAt(index)) throw objectNotFound(identity, DIRECTORY_SERVER);
      return single(match(index), limit);
    }
    return { size: dataset.recipientCount(), rowAt: match, limit };
  },
};

// ---------------------------------------------------------------------------------------------------
// Organization

const getOrganizationConfig: CmdletDefinition = {
  name: "Get-OrganizationConfig",
  parameters: [],
  run({ tenant }) {
    const row: Row = {
      Name: tenant.domain,
      DisplayName: tenant.displayName,
      Identity: tenant.domain,
      Id: tenant.domain,
    };
    putGuid(row, "Guid", tenant.id);
    row.OrganizationId = organizationId(tenant);
    row.IsDehydrated = false;
    row.IsMixedMode = false;
    row.AuditDisabled = false;
    row.OAuth2ClientProfileEnabled = true;
    row.ExchangeVersion = "0.20 (15.0.0.0)";
    return single(row, Number.POSITIVE_INFINITY);
  },
};

const getAcceptedDomain: CmdletDefinition = {
  name: "Get-AcceptedDomain",
  parameters: ["Identity", "ResultSize"],
  run({ tenant }, params) {
    const domains = [tenant.domain, routingDomain(tenant)].map((domain, i) => {
      const row: Row = { Name: domain, Identity: domain, DomainName: domain, DomainType: "Authoritative" };
      row.Default = i === 0;
      row.InitialDomain = i === 0;
      row.IsCoexistenceDomain = i === 1;
      return row;
    });
    const identity = params.string("Identity");
    if (identity !== undefined && identity !== "") {
      const row = domains.find((d) => String(d.Name).toLowerCase() === identity.toLowerCase());
      if (!row) throw objectNotFound(identity, DIRECTORY_SERVER);
      return single(row, Number.POSITIVE_INFINITY);
    }
    return {
      size: domains.length,
      rowAt: (i) => domains[i],
      limit: params.resultSize(Number.POSITIVE_INFINITY),
    };
  },
};

// ---------------------------------------------------------------------------------------------------
// Writes

const setMailbox: CmdletDefinition = {
  name: "Set-Mailbox",
  parameters: ["Identity", ...SETTABLE_MAILBOX_PROPERTIES],
  run(context, params) {
    const identity = params.requiredString("Identity");
    const index = context.dataset.findIndex(identity);
    const m = index === undefined ? undefined : context.dataset.mailbox(index);
    if (!m || m.inactive) throw objectNotFound(identity, DIRECTORY_SERVER);
    const current = mailboxRow(m, context.tenant, context.overlay.get(m.index));
    const changes: Row = {};
    for (const name of SETTABLE_MAILBOX_PROPERTIES) {
      if (params.raw(name) === undefined) continue;
      let value: unknown;
      if (name === "HiddenFromAddressListsEnabled") {
        value = params.switch(name);
      } else {
        value = params.string(name) ?? "";
        if (String(value).length > 1024) {
          throw invalidParameterValue(
            name,
            value,
            "The length of the property is too long. The maximum length is 1024.",
          );
        }
      }
      if (current[name] !== value) changes[name] = value;
    }
    const warnings: string[] = [];
    if (Object.keys(changes).length === 0) {
      warnings.push(`The command completed successfully but no settings of '${m.alias}' have been modified.`);
    } else {
      context.overlay.set(m.index, changes);
    }
    return { size: 0, rowAt: () => undefined, limit: 0, warnings };
  },
};

const CMDLETS = new Map<string, CmdletDefinition>(
  [
    getMailbox,
    getMailboxStatistics,
    getRecipient,
    getUser,
    getOrganizationConfig,
    getAcceptedDomain,
    setMailbox,
  ].map((c) => [c.name.toLowerCase(), c]),
);

/** Case-insensitive cmdlet lookup. */
export function findCmdlet(name: string): CmdletDefinition | undefined {
  return CMDLETS.get(name.trim().toLowerCase());
}

export function cmdletNames(): string[] {
  return [...CMDLETS.values()].map((c) => c.name);
}

export { BoundParameters };
