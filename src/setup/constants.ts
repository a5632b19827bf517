/**
 * Fixed identifiers of the Exchange Online app-only setup (entra-provisioning.md §1). They are the same
 * in every tenant; pinning them avoids the mislabelled GUIDs common in public scripts.
 */

/** Office 365 Exchange Online resource application. */
export const EXCHANGE_RESOURCE_APP_ID = "00000002-0000-0ff1-ce00-000000000000";
/** Its `Exchange.ManageAsApp` application permission (app role). */
export const EXCHANGE_MANAGE_AS_APP_ROLE_ID = "dc50a0fb-09a3-484d-be87-e023b12c6440";
export const EXCHANGE_MANAGE_AS_APP_VALUE = "Exchange.ManageAsApp";

export interface DirectoryRoleChoice {
  /** The `--role` value. */
  name: string;
  displayName: string;
  templateId: string;
  /** One line for the prompt and the docs: when to pick it. */
  purpose: string;
}

/**
 * The Entra roles Exchange Online accepts for app-only access (exo-rest.md §8.1), least privilege first.
 * `purpose` names the Exchange role group each acts through and what it allows (docs/exchange-rbac.md).
 */
export const DIRECTORY_ROLES: readonly DirectoryRoleChoice[] = [
  {
    name: "global-reader",
    displayName: "Global Reader",
    templateId: "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    purpose:
      "read-only, through View-Only Organization Management: reports (mailboxes, statistics, recipients), inventories, audits — the least privilege for reporting scripts",
  },
  {
    name: "exchange-recipient-administrator",
    displayName: "Exchange Recipient Administrator",
    templateId: "31392ffb-586c-42d1-9346-e59415a2cc4e",
    purpose:
      "Recipient Management: read and change mailboxes, contacts and groups (Set-Mailbox), but not organization settings",
  },
  {
    name: "exchange-administrator",
    displayName: "Exchange Administrator",
    templateId: "29232cdf-9323-42fd-ade2-1d097af3e4de",
    purpose:
      "Organization Management: any Exchange Online task — only for scripts that change organization settings",
  },
  {
    name: "security-reader",
    displayName: "Security Reader",
    templateId: "5d6b6bb7-de71-4623-b4af-96380a352509",
    purpose:
      "Security Reader role group: reads security settings only — not mailboxes, statistics or recipients (no reports)",
  },
  {
    name: "compliance-administrator",
    displayName: "Compliance Administrator",
    templateId: "17315797-102d-40b4-93e0-432062caca18",
    purpose:
      "Compliance Management: compliance features (retention, DLP, journaling) and read-only recipients",
  },
  {
    name: "helpdesk-administrator",
    displayName: "Helpdesk Administrator",
    templateId: "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    purpose:
      "Help Desk: view recipients and mailbox statistics, user options — no organization settings, no Set-Mailbox",
  },
  {
    name: "security-administrator",
    displayName: "Security Administrator",
    templateId: "194ae4cb-b126-40b2-bd5b-6091b380977d",
    purpose:
      "Security Administrator role group: security policies — not mailboxes, statistics or recipients (no reports)",
  },
  {
    name: "global-administrator",
    displayName: "Global Administrator",
    templateId: "62e90394-69f5-4237-9190-012177145e10",
    purpose: "Organization Management and everything else in the tenant: discouraged for an unattended app",
  },
];

export function findRole(nameOrTemplateId: string): DirectoryRoleChoice | undefined {
  const v = nameOrTemplateId.toLowerCase();
  return DIRECTORY_ROLES.find((r) => r.name === v || r.templateId === v);
}

/** What the signed-in admin needs, per kind of write (entra-provisioning.md §2.0). */
export const ADMIN_ROLE_NEEDED = {
  application: "Application Administrator (or Cloud Application Administrator), or Global Administrator",
  consent: "Application Administrator or Privileged Role Administrator, or Global Administrator",
  role: "Privileged Role Administrator, or Global Administrator",
} as const;
