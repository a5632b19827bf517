import { decodeJwtClaims, stringArrayClaim } from "./jwt.js";

/**
 * Fixed identifiers of Exchange Online app-only access (docs/setup.md). They are the same in every
 * tenant; pinning them avoids the mislabelled GUIDs common in public scripts.
 */

/** Office 365 Exchange Online resource application. */
export const EXCHANGE_RESOURCE_APP_ID = "00000002-0000-0ff1-ce00-000000000000";
/** Its `Exchange.ManageAsApp` application permission (app role) id. */
export const EXCHANGE_MANAGE_AS_APP_ROLE_ID = "dc50a0fb-09a3-484d-be87-e023b12c6440";
/** The app permission Exchange requires for app-only access (the app role's value, the token's `roles`). */
export const EXCHANGE_MANAGE_AS_APP = "Exchange.ManageAsApp";

/** A directory role Exchange Online accepts for app-only access. */
export interface DirectoryRole {
  /** The `--role` value. */
  name: string;
  displayName: string;
  templateId: string;
  /** Every permission it gives in Exchange is read-only. */
  readOnly: boolean;
  /** The Exchange role group its holders act through (docs/exchange-rbac.md). */
  roleGroup: string;
  /** The role group can run Get-Mailbox / Get-MailboxStatistics / Get-Recipient, which every usage report needs. */
  readsRecipients: boolean;
  /** One line for the prompt and the docs: when to pick it. */
  purpose: string;
}

/**
 * The one table of directory roles Exchange Online accepts for app-only access (docs/exchange-rbac.md),
 * least privilege first: setup's `--role`, doctor's role check and the 403 hints all read it.
 */
export const DIRECTORY_ROLES: readonly DirectoryRole[] = [
  {
    name: "global-reader",
    displayName: "Global Reader",
    templateId: "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    readOnly: true,
    roleGroup: "View-Only Organization Management",
    readsRecipients: true,
    purpose:
      "read-only, through View-Only Organization Management: reports (mailboxes, statistics, recipients), inventories, audits — the least privilege for reporting scripts",
  },
  {
    name: "exchange-recipient-administrator",
    displayName: "Exchange Recipient Administrator",
    templateId: "31392ffb-586c-42d1-9346-e59415a2cc4e",
    readOnly: false,
    roleGroup: "Recipient Management",
    readsRecipients: true,
    purpose:
      "Recipient Management: read and change mailboxes, contacts and groups (Set-Mailbox), but not organization settings",
  },
  {
    name: "exchange-administrator",
    displayName: "Exchange Administrator",
    templateId: "29232cdf-9323-42fd-ade2-1d097af3e4de",
    readOnly: false,
    roleGroup: "Organization Management",
    readsRecipients: true,
    purpose:
      "Organization Management: any Exchange Online task — only for scripts that change organization settings",
  },
  {
    name: "security-reader",
    displayName: "Security Reader",
    templateId: "5d6b6bb7-de71-4623-b4af-96380a352509",
    readOnly: true,
    roleGroup: "Security Reader",
    readsRecipients: false,
    purpose:
      "Security Reader role group: reads security settings only — not mailboxes, statistics or recipients (no reports)",
  },
  {
    name: "compliance-administrator",
    displayName: "Compliance Administrator",
    templateId: "17315797-102d-40b4-93e0-432062caca18",
    readOnly: false,
    roleGroup: "Compliance Management",
    readsRecipients: true,
    purpose:
      "Compliance Management: compliance features (retention, DLP, journaling) and read-only recipients",
  },
  {
    name: "helpdesk-administrator",
    displayName: "Helpdesk Administrator",
    templateId: "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    readOnly: false,
    roleGroup: "Help Desk",
    readsRecipients: true,
    purpose:
      "Help Desk: view recipients and mailbox statistics, user options — no organization settings, no Set-Mailbox",
  },
  {
    name: "security-administrator",
    displayName: "Security Administrator",
    templateId: "194ae4cb-b126-40b2-bd5b-6091b380977d",
    readOnly: false,
    roleGroup: "Security Administrator",
    readsRecipients: false,
    purpose:
      "Security Administrator role group: security policies — not mailboxes, statistics or recipients (no reports)",
  },
  {
    name: "global-administrator",
    displayName: "Global Administrator",
    templateId: "62e90394-69f5-4237-9190-012177145e10",
    readOnly: false,
    roleGroup: "Organization Management",
    readsRecipients: true,
    purpose: "Organization Management and everything else in the tenant: discouraged for an unattended app",
  },
];

/** The role with this `--role` name or template id (case-insensitive). */
export function findRole(nameOrTemplateId: string): DirectoryRole | undefined {
  const v = nameOrTemplateId.toLowerCase();
  return DIRECTORY_ROLES.find((r) => r.name === v || r.templateId === v);
}

/** The role with this template id (a token's `wids`, a role assignment's definition), case-insensitive. */
export function roleByTemplateId(templateId: string): DirectoryRole | undefined {
  const v = templateId.toLowerCase();
  return DIRECTORY_ROLES.find((r) => r.templateId === v);
}

/** What an (unverified) access token says about the app's rights. */
export interface TokenRights {
  appId?: string;
  tenantId?: string;
  audience?: string;
  roles: string[];
  /** directory role template ids */
  wids: string[];
  hasManageAsApp: boolean;
  /** names of the supported Exchange roles among `wids` */
  exchangeRoles: string[];
  /** true when every supported role in the token is read-only */
  readOnly: boolean;
  /** false when the token is not a JWT we can read */
  readable: boolean;
}

export function tokenRights(token: string): TokenRights {
  const claims = decodeJwtClaims(token);
  const roles = stringArrayClaim(claims, "roles");
  const wids = stringArrayClaim(claims, "wids");
  const supported = wids.map(roleByTemplateId).filter((r) => r !== undefined);
  const rights: TokenRights = {
    roles,
    wids,
    hasManageAsApp: roles.includes(EXCHANGE_MANAGE_AS_APP),
    exchangeRoles: supported.map((r) => r.displayName),
    readOnly: supported.length > 0 && supported.every((r) => r.readOnly),
    readable: claims !== undefined,
  };
  if (typeof claims?.appid === "string") rights.appId = claims.appid;
  else if (typeof claims?.azp === "string") rights.appId = claims.azp;
  if (typeof claims?.tid === "string") rights.tenantId = claims.tid;
  if (typeof claims?.aud === "string") rights.audience = claims.aud;
  return rights;
}
