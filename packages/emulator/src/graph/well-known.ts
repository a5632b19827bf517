import { createHash } from "node:crypto";
import type { AppRoleRecord, ServicePrincipalRecord, TenantState, UserRecord } from "../state.js";
import type { TenantInfo } from "../types.js";

/** Identifiers that are the same in every Microsoft tenant (docs/setup.md, "What it creates"). */
export const EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000";
export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
/** The audience addKey/removeKey proofs carry (the legacy AAD Graph id, as documented). */
export const PROOF_AUDIENCE = "00000002-0000-0000-c000-000000000000";
export const EXCHANGE_MANAGE_AS_APP_ROLE_ID = "dc50a0fb-09a3-484d-be87-e023b12c6440";
/** Microsoft Azure CLI: the client issueAdminToken() pretends the admin signed in with. */
export const AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

export const ROLE = {
  globalAdministrator: "62e90394-69f5-4237-9190-012177145e10",
  exchangeAdministrator: "29232cdf-9323-42fd-ade2-1d097af3e4de",
  exchangeRecipientAdministrator: "31392ffb-586c-42d1-9346-e59415a2cc4e",
  globalReader: "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
  securityReader: "5d6b6bb7-de71-4623-b4af-96380a352509",
  securityAdministrator: "194ae4cb-b126-40b2-bd5b-6091b380977d",
  complianceAdministrator: "17315797-102d-40b4-93e0-432062caca18",
  helpdeskAdministrator: "729827e3-9c14-49f7-bb1b-9608f156bbb8",
  privilegedRoleAdministrator: "e8611ab8-c189-46e8-94e1-60213ab1f814",
  applicationAdministrator: "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
  cloudApplicationAdministrator: "158c047a-c907-4556-b7ef-446551a6b5f7",
  applicationDeveloper: "cf1c38e5-3621-4004-a7cb-879624dced7c",
  directoryReaders: "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
} as const;

/** Built-in directory roles served by /roleManagement/directory/roleDefinitions (id == templateId). */
export const BUILT_IN_ROLES: Array<{ id: string; displayName: string; description: string }> = [
  {
    id: ROLE.globalAdministrator,
    displayName: "Global Administrator",
    description:
      "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
  },
  {
    id: ROLE.exchangeAdministrator,
    displayName: "Exchange Administrator",
    description: "Can manage all aspects of the Exchange product.",
  },
  {
    id: ROLE.exchangeRecipientAdministrator,
    displayName: "Exchange Recipient Administrator",
    description: "Can create or update Exchange Online recipients within the Exchange Online organization.",
  },
  {
    id: ROLE.globalReader,
    displayName: "Global Reader",
    description: "Can read everything that a Global Administrator can, but not update anything.",
  },
  {
    id: ROLE.securityReader,
    displayName: "Security Reader",
    description: "Can read security information and reports in Microsoft Entra ID and Office 365.",
  },
  {
    id: ROLE.securityAdministrator,
    displayName: "Security Administrator",
    description:
      "Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365.",
  },
  {
    id: ROLE.complianceAdministrator,
    displayName: "Compliance Administrator",
    description:
      "Can read and manage compliance configuration and reports in Microsoft Entra ID and Microsoft 365.",
  },
  {
    id: ROLE.helpdeskAdministrator,
    displayName: "Helpdesk Administrator",
    description: "Can reset passwords for non-administrators and Helpdesk Administrators.",
  },
  {
    id: ROLE.privilegedRoleAdministrator,
    displayName: "Privileged Role Administrator",
    description:
      "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.",
  },
  {
    id: ROLE.applicationAdministrator,
    displayName: "Application Administrator",
    description: "Can create and manage all aspects of app registrations and enterprise apps.",
  },
  {
    id: ROLE.cloudApplicationAdministrator,
    displayName: "Cloud Application Administrator",
    description:
      "Can create and manage all aspects of app registrations and enterprise apps except App Proxy.",
  },
  {
    id: ROLE.applicationDeveloper,
    displayName: "Application Developer",
    description:
      "Can create application registrations independent of the 'Allow users to register applications' setting.",
  },
  {
    id: ROLE.directoryReaders,
    displayName: "Directory Readers",
    description:
      "Can read basic directory information. Commonly used to grant directory read access to applications and guests.",
  },
];

/** Delegated scopes a device-code sign-in for `<graph>/.default` is granted (the admin scopes of setup). */
export const ADMIN_SCOPES = [
  "Application.ReadWrite.All",
  "AppRoleAssignment.ReadWrite.All",
  "RoleManagement.ReadWrite.Directory",
];

/** A stable GUID from text, so seeded objects keep their ids across runs without a state dir. */
export function stableGuid(...parts: string[]): string {
  const h = createHash("sha256").update(parts.join("\u0000")).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const DEFAULT_DOMAIN = "contoso.onmicrosoft.com";
const DEFAULT_TENANT_ID = "6babcaad-604b-40ac-a9d7-9fd97c0b779f";

export function tenantInfoFor(domain = DEFAULT_DOMAIN): TenantInfo {
  const d = domain.toLowerCase();
  const label = d.split(".")[0] ?? d;
  return {
    id: d === DEFAULT_DOMAIN ? DEFAULT_TENANT_ID : stableGuid("tenant", d),
    domain: d,
    displayName: label.charAt(0).toUpperCase() + label.slice(1),
  };
}

const role = (
  id: string,
  value: string,
  displayName: string,
  description: string,
  allowedMemberTypes = ["Application"],
): AppRoleRecord => ({
  id,
  value,
  displayName,
  description,
  allowedMemberTypes,
  isEnabled: true,
  origin: "Application",
});

const EXCHANGE_APP_ROLES: AppRoleRecord[] = [
  role(
    EXCHANGE_MANAGE_AS_APP_ROLE_ID,
    "Exchange.ManageAsApp",
    "Manage Exchange As Application",
    "Allows the app to manage the organization's Exchange environment without any user interaction. This includes mailboxes, groups, and other configuration objects. To enable management actions, an admin must assign the appropriate roles directly to the app.",
  ),
  role(
    "dc890d15-9560-4a4c-9b7f-a736ec74ec40",
    "full_access_as_app",
    "Use Exchange Web Services with full access to all mailboxes",
    "Allows the app to have full access via Exchange Web Services to all mailboxes without a signed-in user.",
  ),
  role(
    stableGuid("Exchange.ManageAsAppV2"),
    "Exchange.ManageAsAppV2",
    "Manage Exchange As Application (Admin API)",
    "Allows the app to manage the organization's Exchange environment through the Exchange Online Admin API.",
  ),
];

const GRAPH_APP_ROLES: AppRoleRecord[] = [
  role(
    "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "Application.ReadWrite.All",
    "Read and write all applications",
    "Allows the app to create, read, update and delete applications and service principals without a signed-in user.",
  ),
  role(
    "18a4783c-866b-4cc7-a460-3d5e5662c884",
    "Application.ReadWrite.OwnedBy",
    "Manage apps that this app creates or owns",
    "Allows the app to create other applications, and fully manage those applications, without a signed-in user.",
  ),
  role(
    "06b708a9-e830-4db3-a914-8e69da51d44f",
    "AppRoleAssignment.ReadWrite.All",
    "Manage app permission grants and app role assignments",
    "Allows the app to manage permission grants for application permissions to any API and app role assignments for any app, without a signed-in user.",
  ),
  role(
    "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
    "RoleManagement.ReadWrite.Directory",
    "Read and write all directory RBAC settings",
    "Allows the app to read and manage the role-based access control (RBAC) settings for your company's directory, without a signed-in user.",
  ),
  role(
    "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "Directory.Read.All",
    "Read directory data",
    "Allows the app to read data in your organization's directory, without a signed-in user.",
  ),
];

/** A Microsoft first-party resource SP as it appears in a tenant (tenant-specific object id). */
export function firstPartyServicePrincipal(
  tenantId: string,
  appId: string,
): ServicePrincipalRecord | undefined {
  const base = {
    id: stableGuid("sp", tenantId, appId),
    appId,
    appOwnerOrganizationId: "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
    createdAtMs: 0,
    firstParty: true,
  };
  if (appId === EXCHANGE_APP_ID) {
    return {
      ...base,
      displayName: "Office 365 Exchange Online",
      appRoles: EXCHANGE_APP_ROLES,
      servicePrincipalNames: [
        EXCHANGE_APP_ID,
        "https://outlook.office365.com/",
        "https://outlook.office365.com",
      ],
    };
  }
  if (appId === GRAPH_APP_ID) {
    return {
      ...base,
      displayName: "Microsoft Graph",
      appRoles: GRAPH_APP_ROLES,
      servicePrincipalNames: [GRAPH_APP_ID, "https://graph.microsoft.com", "https://graph.microsoft.com/"],
    };
  }
  return undefined;
}

/** The seeded users of a tenant and their directory roles. */
export function seedUsers(tenant: TenantInfo): UserRecord[] {
  const user = (name: string, displayName: string, roles: string[]): UserRecord => {
    const upn = `${name}@${tenant.domain}`;
    return { id: stableGuid("user", tenant.id, upn), userPrincipalName: upn, displayName, roles };
  };
  return [
    user("admin", "Global Administrator", [ROLE.globalAdministrator]),
    user("helpdesk", "Helpdesk Administrator", [ROLE.helpdeskAdministrator]),
    user("appadmin", "Application Administrator", [ROLE.applicationAdministrator]),
    user("privroleadmin", "Privileged Role Administrator", [ROLE.privilegedRoleAdministrator]),
    user("reader", "Global Reader", [ROLE.globalReader]),
  ];
}

/** A fresh tenant: seeded users, the Microsoft Graph SP and (unless left out) the Exchange Online SP. */
export function seedTenant(
  domain?: string,
  options: { withoutExchangeServicePrincipal?: boolean } = {},
): TenantState {
  const tenant = tenantInfoFor(domain);
  const sps = [firstPartyServicePrincipal(tenant.id, GRAPH_APP_ID)!];
  if (!options.withoutExchangeServicePrincipal)
    sps.push(firstPartyServicePrincipal(tenant.id, EXCHANGE_APP_ID)!);
  return {
    tenant,
    createdDateTime: "2020-01-01T00:00:00Z",
    users: seedUsers(tenant),
    applications: [],
    servicePrincipals: sps,
    appRoleAssignments: [],
    roleAssignments: [],
  };
}
