import { randomUUID } from "node:crypto";
import { EXCHANGE_MANAGE_AS_APP_ROLE_ID, EXCHANGE_RESOURCE_APP_ID } from "../../src/auth/roles.js";
import type { DirectoryApi } from "../../src/graph/directory.js";
import { GraphError } from "../../src/graph/errors.js";
import type { Clock } from "../../src/graph/replication.js";
import type {
  Application,
  AppRoleAssignment,
  KeyCredential,
  ServicePrincipal,
  UnifiedRoleAssignment,
} from "../../src/graph/types.js";

/**
 * An in-memory directory behind the DirectoryApi surface, for unit tests of planning and applying:
 * it answers like Graph does (409 / "already exists" / "conflicting object"), can hide new objects for
 * `lagMs` of a fake clock (replication), can deny an operation with 403, and records every write.
 */
export class FakeClock implements Clock {
  t = 1_000_000;
  sleeps: number[] = [];
  now = () => this.t;
  random = () => 0.5;
  sleep = async (ms: number) => {
    this.sleeps.push(ms);
    this.t += ms;
  };
}

interface Stamped<T> {
  value: T;
  createdAt: number;
}

const notFound = (method: string, path: string) =>
  new GraphError(method, path, 404, "Request_ResourceNotFound", "Resource does not exist.", []);
const badRequest = (method: string, path: string, message: string, details: string[] = []) =>
  new GraphError(method, path, 400, "Request_BadRequest", message, details);

export class FakeDirectory {
  apps: Stamped<Application & { uniqueName: string }>[] = [];
  keys = new Map<string, KeyCredential[]>();
  sps: Stamped<ServicePrincipal>[] = [];
  grants: Stamped<AppRoleAssignment>[] = [];
  roles: Stamped<UnifiedRoleAssignment>[] = [];
  writes: string[] = [];
  deny = new Set<string>();
  lagMs = 0;

  constructor(
    readonly clock: FakeClock,
    options: { withExchangeSp?: boolean } = {},
  ) {
    if (options.withExchangeSp !== false) {
      this.sps.push({
        value: {
          id: "exo-sp",
          appId: EXCHANGE_RESOURCE_APP_ID,
          displayName: "Office 365 Exchange Online",
          appRoles: [
            {
              id: EXCHANGE_MANAGE_AS_APP_ROLE_ID,
              value: "Exchange.ManageAsApp",
              allowedMemberTypes: ["Application"],
            },
          ],
        },
        createdAt: 0,
      });
    }
  }

  private visible<T>(s: Stamped<T>) {
    return this.clock.now() - s.createdAt >= this.lagMs;
  }
  private guard(op: string) {
    if (this.deny.has(op)) {
      throw new GraphError(
        "POST",
        op,
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
        [],
      );
    }
  }

  /** Typed as the real API: only the methods setup uses exist. */
  asApi(): DirectoryApi {
    return this as unknown as DirectoryApi;
  }

  async findApplicationByUniqueName(uniqueName: string) {
    const a = this.apps.find((s) => s.value.uniqueName === uniqueName && this.visible(s));
    return a ? { ...a.value } : undefined;
  }
  async findApplicationByAppId(appId: string) {
    const a = this.apps.find((s) => s.value.appId === appId && this.visible(s));
    return a ? { ...a.value } : undefined;
  }
  async upsertApplication(uniqueName: string, body: Partial<Application>) {
    this.guard("createApplication");
    this.writes.push("upsertApplication");
    if (this.apps.some((a) => a.value.uniqueName === uniqueName)) return { created: false };
    const app = { ...body, id: randomUUID(), appId: randomUUID(), uniqueName } as Application & {
      uniqueName: string;
    };
    this.apps.push({ value: app, createdAt: this.clock.now() });
    this.keys.set(app.id, []);
    return { created: true, application: { ...app } };
  }
  async updateApplication(id: string, body: Partial<Application>) {
    this.writes.push("updateApplication");
    const a = this.apps.find((s) => s.value.id === id);
    if (!a || !this.visible(a)) throw notFound("PATCH", `/applications/${id}`);
    Object.assign(a.value, body);
  }
  async getKeyCredentials(id: string) {
    const a = this.apps.find((s) => s.value.id === id);
    if (!a || !this.visible(a)) throw notFound("GET", `/applications/${id}`);
    return (this.keys.get(id) ?? []).map((k) => ({ ...k }));
  }
  async setKeyCredentials(id: string, keys: KeyCredential[]) {
    this.guard("setKeyCredentials");
    this.writes.push("setKeyCredentials");
    const a = this.apps.find((s) => s.value.id === id);
    if (!a || !this.visible(a)) throw notFound("PATCH", `/applications/${id}`);
    const old = this.keys.get(id) ?? [];
    // Replace semantics, like Graph: entries re-sent by keyId with key null keep their stored key.
    const next = keys.map((k) => {
      if (k.keyId) {
        const prev = old.find((o) => o.keyId === k.keyId);
        if (!prev) throw badRequest("PATCH", `/applications/${id}`, "Unknown keyId.");
        return { ...prev };
      }
      return { ...k, keyId: randomUUID() };
    });
    this.keys.set(id, next);
  }
  async deleteApplication(id: string) {
    this.writes.push("deleteApplication");
    const before = this.apps.length;
    this.apps = this.apps.filter((a) => a.value.id !== id);
    if (this.apps.length === before) throw notFound("DELETE", `/applications/${id}`);
  }
  async findServicePrincipalByAppId(appId: string) {
    const s = this.sps.find((x) => x.value.appId === appId && this.visible(x));
    return s ? { ...s.value } : undefined;
  }
  async createServicePrincipal(appId: string) {
    this.guard("createServicePrincipal");
    this.writes.push("createServicePrincipal");
    const app = this.apps.find((a) => a.value.appId === appId);
    if (appId !== EXCHANGE_RESOURCE_APP_ID && (!app || !this.visible(app))) {
      throw badRequest(
        "POST",
        "/servicePrincipals",
        `The appId '${appId}' of the service principal does not reference a valid application object.`,
        ["NoBackingApplicationObject"],
      );
    }
    if (this.sps.some((s) => s.value.appId === appId)) {
      throw new GraphError(
        "POST",
        "/servicePrincipals",
        409,
        "Request_MultipleObjectsWithSameKeyValue",
        "already in use",
        [],
      );
    }
    const sp: ServicePrincipal = {
      id: appId === EXCHANGE_RESOURCE_APP_ID ? "exo-sp-new" : randomUUID(),
      appId,
      ...(appId === EXCHANGE_RESOURCE_APP_ID
        ? { appRoles: [{ id: EXCHANGE_MANAGE_AS_APP_ROLE_ID, value: "Exchange.ManageAsApp" }] }
        : {}),
    };
    this.sps.push({ value: sp, createdAt: this.clock.now() });
    return { ...sp };
  }
  async deleteServicePrincipal(id: string) {
    this.writes.push("deleteServicePrincipal");
    this.sps = this.sps.filter((s) => s.value.id !== id);
    this.grants = this.grants.filter((g) => g.value.principalId !== id);
    this.roles = this.roles.filter((r) => r.value.principalId !== id);
  }
  private spVisible(id: string) {
    const sp = this.sps.find((s) => s.value.id === id);
    return sp !== undefined && this.visible(sp);
  }
  async listAppRoleAssignments(spId: string) {
    if (!this.spVisible(spId)) throw notFound("GET", `/servicePrincipals/${spId}/appRoleAssignments`);
    return this.grants
      .filter((g) => g.value.principalId === spId && this.visible(g))
      .map((g) => ({ ...g.value }));
  }
  async grantAppRole(principalId: string, resourceId: string, appRoleId: string) {
    this.guard("grantAppRole");
    this.writes.push("grantAppRole");
    if (!this.spVisible(principalId))
      throw badRequest("POST", "appRoleAssignedTo", "Not a valid reference update.");
    if (
      this.grants.some(
        (g) =>
          g.value.principalId === principalId &&
          g.value.appRoleId === appRoleId &&
          g.value.resourceId === resourceId,
      )
    ) {
      throw badRequest(
        "POST",
        "appRoleAssignedTo",
        "Permission being assigned already exists on the object.",
      );
    }
    const grant = { id: randomUUID(), principalId, resourceId, appRoleId };
    this.grants.push({ value: grant, createdAt: this.clock.now() });
    return { ...grant };
  }
  async deleteAppRoleAssignment(spId: string, id: string) {
    this.writes.push("deleteAppRoleAssignment");
    this.grants = this.grants.filter((g) => !(g.value.id === id && g.value.principalId === spId));
  }
  async listRoleAssignments(principalId: string) {
    return this.roles
      .filter((r) => r.value.principalId === principalId && this.visible(r))
      .map((r) => ({ ...r.value }));
  }
  async createRoleAssignment(principalId: string, roleDefinitionId: string) {
    this.guard("createRoleAssignment");
    this.writes.push("createRoleAssignment");
    if (!this.spVisible(principalId)) throw notFound("POST", "/roleManagement/directory/roleAssignments");
    if (
      this.roles.some(
        (r) => r.value.principalId === principalId && r.value.roleDefinitionId === roleDefinitionId,
      )
    ) {
      throw badRequest(
        "POST",
        "roleAssignments",
        "A conflicting object with one or more of the specified property values is present in the directory.",
      );
    }
    const ra = { id: randomUUID(), principalId, roleDefinitionId, directoryScopeId: "/" };
    this.roles.push({ value: ra, createdAt: this.clock.now() });
    return { ...ra };
  }
  async deleteRoleAssignment(id: string) {
    this.writes.push("deleteRoleAssignment");
    this.roles = this.roles.filter((r) => r.value.id !== id);
  }
}
