import { filterQuery, type GraphClient, odataString } from "./client.js";
import type {
  Application,
  AppRoleAssignment,
  KeyCredential,
  Organization,
  ServicePrincipal,
  UnifiedRoleAssignment,
} from "./types.js";

const APP_SELECT = "$select=id,appId,displayName,uniqueName,requiredResourceAccess";

/** `/applications(uniqueName='x')`: an OData alternate-key segment, the value quoted and URL-encoded. */
const alternateKey = (entitySet: string, key: string, value: string) =>
  `/${entitySet}(${key}=${encodeURIComponent(odataString(value))})`;

/**
 * One function per Graph call that provisioning makes (docs/graph-queries.md), so the setup steps
 * read as a sequence of intentions and a fake of this surface is enough for unit tests.
 */
export class DirectoryApi {
  constructor(readonly graph: GraphClient) {}

  /**
   * `GET /applications(uniqueName='…')` — the app setup owns, read by its documented alternate key
   * (404 = missing). `uniqueName` is not a documented `$filter` property; see docs/graph-queries.md.
   */
  async findApplicationByUniqueName(uniqueName: string): Promise<Application | undefined> {
    return this.graph.find<Application>(
      `${alternateKey("applications", "uniqueName", uniqueName)}?${APP_SELECT}`,
    );
  }

  /** `GET /applications(appId='…')` — alternate key read (404 = missing). */
  async findApplicationByAppId(appId: string): Promise<Application | undefined> {
    return this.graph.find<Application>(`${alternateKey("applications", "appId", appId)}?${APP_SELECT}`);
  }

  /**
   * Upsert by uniqueName (`PATCH /applications(uniqueName='…')` + `Prefer: create-if-missing`): 201 with the
   * new object, or 204 when it already existed — two concurrent runs can never create two apps.
   */
  async upsertApplication(
    uniqueName: string,
    body: Partial<Application>,
  ): Promise<{ created: boolean; application?: Application }> {
    const res = await this.graph.patch<Application>(
      alternateKey("applications", "uniqueName", uniqueName),
      body,
      {
        prefer: "create-if-missing",
      },
    );
    return res.status === 201 && res.body ? { created: true, application: res.body } : { created: false };
  }

  async updateApplication(id: string, body: Partial<Application>): Promise<void> {
    await this.graph.patch(`/applications/${id}`, body);
  }

  /** The key credentials of one app; `key` is only returned by this single-object `$select`. */
  async getKeyCredentials(applicationId: string): Promise<KeyCredential[]> {
    const app = await this.graph.get<Application>(`/applications/${applicationId}?$select=id,keyCredentials`);
    return app.keyCredentials ?? [];
  }

  /** PATCH replaces the whole collection: callers send the existing entries back with the new one. */
  async setKeyCredentials(applicationId: string, keyCredentials: KeyCredential[]): Promise<void> {
    await this.graph.patch(`/applications/${applicationId}`, { keyCredentials });
  }

  async deleteApplication(id: string): Promise<void> {
    await this.graph.delete(`/applications/${id}`);
  }

  async findServicePrincipalByAppId(appId: string): Promise<ServicePrincipal | undefined> {
    const found = await this.graph.list<ServicePrincipal>(
      `/servicePrincipals?${filterQuery(`appId eq ${odataString(appId)}`)}&$select=id,appId,displayName,appRoles`,
    );
    return found[0];
  }

  async createServicePrincipal(appId: string): Promise<ServicePrincipal> {
    const res = await this.graph.post<ServicePrincipal>("/servicePrincipals", { appId });
    return res.body as ServicePrincipal;
  }

  async deleteServicePrincipal(id: string): Promise<void> {
    await this.graph.delete(`/servicePrincipals/${id}`);
  }

  /** App roles granted to a service principal (application permissions it holds). */
  async listAppRoleAssignments(servicePrincipalId: string): Promise<AppRoleAssignment[]> {
    return this.graph.list<AppRoleAssignment>(`/servicePrincipals/${servicePrincipalId}/appRoleAssignments`);
  }

  /** Admin consent for an application permission: the documented `appRoleAssignedTo` form on the resource SP. */
  async grantAppRole(principalId: string, resourceId: string, appRoleId: string): Promise<AppRoleAssignment> {
    const res = await this.graph.post<AppRoleAssignment>(
      `/servicePrincipals/${resourceId}/appRoleAssignedTo`,
      {
        principalId,
        resourceId,
        appRoleId,
      },
    );
    return res.body as AppRoleAssignment;
  }

  async deleteAppRoleAssignment(servicePrincipalId: string, assignmentId: string): Promise<void> {
    await this.graph.delete(`/servicePrincipals/${servicePrincipalId}/appRoleAssignments/${assignmentId}`);
  }

  async listRoleAssignments(principalId: string): Promise<UnifiedRoleAssignment[]> {
    return this.graph.list<UnifiedRoleAssignment>(
      `/roleManagement/directory/roleAssignments?${filterQuery(`principalId eq ${odataString(principalId)}`)}`,
    );
  }

  async createRoleAssignment(principalId: string, roleDefinitionId: string): Promise<UnifiedRoleAssignment> {
    const res = await this.graph.post<UnifiedRoleAssignment>("/roleManagement/directory/roleAssignments", {
      "@odata.type": "#microsoft.graph.unifiedRoleAssignment",
      roleDefinitionId,
      principalId,
      directoryScopeId: "/",
    });
    return res.body as UnifiedRoleAssignment;
  }

  async deleteRoleAssignment(id: string): Promise<void> {
    await this.graph.delete(`/roleManagement/directory/roleAssignments/${id}`);
  }

  async getOrganization(): Promise<Organization | undefined> {
    const found = await this.graph.list<Organization>("/organization?$select=id,displayName,verifiedDomains");
    return found[0];
  }
}
