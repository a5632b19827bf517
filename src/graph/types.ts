/**
 * The few Microsoft Graph v1.0 shapes provisioning reads and writes (docs/graph-queries.md).
 * Only the properties we use are typed; the service returns many more.
 */

/** A certificate (or other key) registered on an application. `key` is only returned on a single-object `$select`. */
export interface KeyCredential {
  keyId?: string;
  type: string;
  usage: string;
  key?: string | null;
  displayName?: string | null;
  customKeyIdentifier?: string | null;
  startDateTime?: string | null;
  endDateTime?: string | null;
}

export interface ResourceAccess {
  id: string;
  type: "Role" | "Scope";
}

export interface RequiredResourceAccess {
  resourceAppId: string;
  resourceAccess: ResourceAccess[];
}

export interface Application {
  id: string;
  appId: string;
  displayName?: string;
  uniqueName?: string | null;
  signInAudience?: string;
  requiredResourceAccess?: RequiredResourceAccess[];
  keyCredentials?: KeyCredential[];
}

export interface AppRole {
  id: string;
  value: string | null;
  allowedMemberTypes?: string[];
  displayName?: string;
  isEnabled?: boolean;
}

export interface ServicePrincipal {
  id: string;
  appId: string;
  displayName?: string;
  appRoles?: AppRole[];
}

export interface AppRoleAssignment {
  id: string;
  appRoleId: string;
  principalId: string;
  resourceId: string;
  principalType?: string;
  resourceDisplayName?: string;
}

export interface UnifiedRoleAssignment {
  id: string;
  roleDefinitionId: string;
  principalId: string;
  directoryScopeId?: string;
}

export interface Organization {
  id: string;
  displayName?: string;
  verifiedDomains?: Array<{ name: string; isInitial?: boolean; isDefault?: boolean }>;
}

/** A collection page: `value` plus the absolute URL of the next page, if any. */
export interface GraphPage<T> {
  value: T[];
  "@odata.nextLink"?: string;
}
