import { randomUUID } from "node:crypto";
import type {
  AppRoleAssignmentRecord,
  AppRoleRecord,
  ServicePrincipalRecord,
  TenantState,
} from "../state.js";
import { authorize } from "./authz.js";
import {
  type GraphRequest,
  type GraphResult,
  metadata,
  noContent,
  notReplicatedYet,
  ok,
  opaqueId,
} from "./context.js";
import { listCollection, owners } from "./directory-extras.js";
import { badRequest, GraphError, notFound } from "./errors.js";
import { applySelect, type FilterSpec, matches, page, parseFilter } from "./odata.js";
import { firstPartyServicePrincipal } from "./well-known.js";

/** /servicePrincipals and their app role assignments (admin consent for application permissions). */

/** `$filter` on service principals as Graph's servicePrincipal resource page documents it. */
const SERVICE_PRINCIPAL_FILTER: FilterSpec = {
  appId: ["eq", "ne", "not", "in", "startsWith"],
  displayName: ["eq", "ne", "not", "in", "startsWith", "endsWith"],
  id: ["eq", "ne", "not", "in"],
  servicePrincipalNames: ["any", "not"],
  tags: ["any", "not"],
  accountEnabled: ["eq", "ne", "not", "in"],
  appOwnerOrganizationId: ["eq", "ne", "not", "in"],
  servicePrincipalType: ["eq", "ne", "not", "in"],
};

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function servicePrincipalJson(sp: ServicePrincipalRecord): Record<string, unknown> {
  return {
    id: sp.id,
    deletedDateTime: null,
    accountEnabled: true,
    alternativeNames: [],
    appDisplayName: sp.displayName,
    appDescription: null,
    appId: sp.appId,
    applicationTemplateId: null,
    appOwnerOrganizationId: sp.appOwnerOrganizationId,
    appRoleAssignmentRequired: false,
    description: null,
    displayName: sp.displayName,
    homepage: null,
    loginUrl: null,
    logoutUrl: null,
    notes: null,
    preferredSingleSignOnMode: null,
    replyUrls: [],
    servicePrincipalNames: sp.servicePrincipalNames,
    servicePrincipalType: "Application",
    signInAudience: "AzureADMyOrg",
    tags: [],
    appRoles: sp.appRoles,
    keyCredentials: [],
    oauth2PermissionScopes: [],
    passwordCredentials: [],
  };
}

const assignmentJson = (a: AppRoleAssignmentRecord) => ({
  id: a.id,
  deletedDateTime: null,
  appRoleId: a.appRoleId,
  createdDateTime: a.createdDateTime,
  principalDisplayName: a.principalDisplayName,
  principalId: a.principalId,
  principalType: a.principalType,
  resourceDisplayName: a.resourceDisplayName,
  resourceId: a.resourceId,
});

/** Remove a service principal with every grant it holds or is the resource of. */
export function deleteServicePrincipalCascade(t: TenantState, spId: string): void {
  t.servicePrincipals = t.servicePrincipals.filter((s) => s.id !== spId);
  t.appRoleAssignments = t.appRoleAssignments.filter((a) => a.principalId !== spId && a.resourceId !== spId);
  t.roleAssignments = t.roleAssignments.filter((a) => a.principalId !== spId);
}

export function findServicePrincipal(t: TenantState, segment: string): ServicePrincipalRecord | undefined {
  const m = /^servicePrincipals\((appId|id)='((?:[^']|'')*)'\)$/i.exec(segment);
  if (m) {
    const value = (m[2] ?? "").toLowerCase();
    return t.servicePrincipals.find(
      (s) => ((m[1] ?? "").toLowerCase() === "appid" ? s.appId : s.id) === value,
    );
  }
  return t.servicePrincipals.find((s) => s.id === segment.toLowerCase());
}

const noBackingApplication = (appId: string) =>
  badRequest(`The appId '${appId}' of the service principal does not reference a valid application object.`, [
    {
      code: "NoBackingApplicationObject",
      message: `The appId '${appId}' of the service principal does not reference a valid application object.`,
      target: "appId",
    },
  ]);

/** Create the SP of an application of this tenant, or of a Microsoft first-party resource. */
function createServicePrincipal(req: GraphRequest, appId: unknown): ServicePrincipalRecord {
  const t = req.caller.tenant;
  if (typeof appId !== "string" || !GUID.test(appId)) {
    throw badRequest("Invalid value specified for property 'appId' of resource 'ServicePrincipal'.");
  }
  const id = appId.toLowerCase();
  if (t.servicePrincipals.some((s) => s.appId === id)) {
    throw new GraphError(
      409,
      "Request_MultipleObjectsWithSameKeyValue",
      `The service principal cannot be created, updated, or restored because the service principal name ${id} is already in use.`,
    );
  }
  const now = req.ctx.clock();
  const app = t.applications.find((a) => a.appId === id);
  let sp: ServicePrincipalRecord | undefined;
  if (app) {
    // The new application is not yet visible to the service-principal store (replication).
    if (now - app.createdAtMs < req.ctx.settings.replicationDelayMs) throw noBackingApplication(id);
    const appRoles = Array.isArray(app.properties.appRoles)
      ? (app.properties.appRoles as AppRoleRecord[])
      : [];
    const uris = Array.isArray(app.properties.identifierUris)
      ? (app.properties.identifierUris as string[])
      : [];
    sp = {
      id: randomUUID(),
      appId: id,
      displayName: app.displayName,
      appOwnerOrganizationId: t.tenant.id,
      createdAtMs: now,
      appRoles,
      servicePrincipalNames: [id, ...uris],
      firstParty: false,
    };
  } else {
    const template = firstPartyServicePrincipal(t.tenant.id, id);
    if (!template) throw noBackingApplication(id);
    sp = { ...template, createdAtMs: now };
  }
  t.servicePrincipals.push(sp);
  return sp;
}

export async function servicePrincipals(req: GraphRequest): Promise<GraphResult> {
  const { segments, method, caller } = req;
  const t = caller.tenant;
  const head = segments[0] ?? "";
  const countSegment = segments.length === 2 && segments[1] === "$count";
  if (head === "servicePrincipals" && (segments.length === 1 || countSegment)) {
    if (method === "GET") {
      authorize(caller, "read");
      const rows = t.servicePrincipals.map(servicePrincipalJson);
      return listCollection(
        req,
        rows,
        SERVICE_PRINCIPAL_FILTER,
        "ServicePrincipal",
        "servicePrincipals",
        countSegment,
      );
    }
    if (method === "POST") {
      authorize(caller, "writeApplications");
      const sp = createServicePrincipal(req, (await req.body()).appId);
      await req.ctx.store.commit();
      return ok(
        { "@odata.context": metadata(req, "servicePrincipals/$entity"), ...servicePrincipalJson(sp) },
        201,
      );
    }
    throw new GraphError(
      405,
      "Request_BadRequest",
      "Specified HTTP method is not allowed for the request target.",
    );
  }
  const key = head === "servicePrincipals" ? (segments[1] ?? "") : head;
  const rest = head === "servicePrincipals" ? segments.slice(2) : segments.slice(1);
  const sp = findServicePrincipal(t, key);
  const upsert = /^servicePrincipals\(appId='((?:[^']|'')*)'\)$/i.exec(head);
  if (rest.length === 0 && method === "PATCH" && upsert) {
    authorize(caller, "writeApplications");
    if (sp) return noContent();
    if (!/create-if-missing/i.test(req.header("prefer") ?? "")) throw notFound(key);
    const created = createServicePrincipal(req, upsert[1]);
    await req.ctx.store.commit();
    return ok(
      { "@odata.context": metadata(req, "servicePrincipals/$entity"), ...servicePrincipalJson(created) },
      201,
    );
  }
  if (!sp) {
    authorize(caller, "read");
    throw notFound(key);
  }
  if (rest.length === 0) {
    if (method === "GET") {
      authorize(caller, "read");
      if (!sp.firstParty && notReplicatedYet(req, sp.createdAtMs)) throw notFound(key);
      const select = req.url.searchParams.get("$select");
      return ok(
        applySelect(
          { "@odata.context": metadata(req, "servicePrincipals/$entity"), ...servicePrincipalJson(sp) },
          select,
        ),
      );
    }
    if (method === "DELETE") {
      authorize(caller, "writeApplications");
      deleteServicePrincipalCascade(t, sp.id);
      await req.ctx.store.commit();
      return noContent();
    }
    throw new GraphError(
      405,
      "Request_BadRequest",
      "Specified HTTP method is not allowed for the request target.",
    );
  }
  const nav = rest[0];
  if (nav === "appRoleAssignedTo" || nav === "appRoleAssignments") {
    return assignments(req, sp, nav, rest.slice(1));
  }
  if (nav === "owners") return owners(req, sp, "servicePrincipals", rest.slice(1));
  throw new GraphError(400, "BadRequest", `Resource not found for the segment '${nav}'.`);
}

async function assignments(
  req: GraphRequest,
  sp: ServicePrincipalRecord,
  nav: "appRoleAssignedTo" | "appRoleAssignments",
  rest: string[],
): Promise<GraphResult> {
  const { method, caller } = req;
  const t = caller.tenant;
  const mine = (a: AppRoleAssignmentRecord) =>
    (nav === "appRoleAssignedTo" ? a.resourceId : a.principalId) === sp.id;
  const context = metadata(req, `servicePrincipals('${sp.id}')/${nav}`);
  if (rest.length === 0 && method === "GET") {
    authorize(caller, "read");
    const clauses = parseFilter(
      req.url.searchParams.get("$filter"),
      ["principalId", "resourceId", "appRoleId"],
      "AppRoleAssignment",
    );
    const rows = t.appRoleAssignments
      .filter(mine)
      .map(assignmentJson)
      .filter((r) => matches(r, clauses));
    return ok(page(rows, req.url, context));
  }
  if (rest.length === 0 && method === "POST") {
    authorize(caller, "writeAppRoleAssignments");
    const a = createAssignment(req, sp, nav, await req.body());
    await req.ctx.store.commit();
    return ok({ "@odata.context": `${context}/$entity`, ...assignmentJson(a) }, 201);
  }
  if (rest.length === 1 && (method === "DELETE" || method === "GET")) {
    authorize(caller, method === "GET" ? "read" : "writeAppRoleAssignments");
    const a = t.appRoleAssignments.find((x) => x.id === rest[0] && mine(x));
    if (!a) throw notFound(rest[0] ?? "");
    if (method === "GET") return ok({ "@odata.context": `${context}/$entity`, ...assignmentJson(a) });
    t.appRoleAssignments = t.appRoleAssignments.filter((x) => x !== a);
    await req.ctx.store.commit();
    return noContent();
  }
  throw new GraphError(
    405,
    "Request_BadRequest",
    "Specified HTTP method is not allowed for the request target.",
  );
}

function createAssignment(
  req: GraphRequest,
  pathSp: ServicePrincipalRecord,
  nav: "appRoleAssignedTo" | "appRoleAssignments",
  body: Record<string, unknown>,
): AppRoleAssignmentRecord {
  const t = req.caller.tenant;
  const { principalId, resourceId, appRoleId } = body;
  if (typeof principalId !== "string" || typeof resourceId !== "string" || typeof appRoleId !== "string") {
    throw badRequest("One or more properties are invalid.");
  }
  const fixed = nav === "appRoleAssignedTo" ? resourceId : principalId;
  if (fixed.toLowerCase() !== pathSp.id) throw badRequest("One or more properties are invalid.");
  const now = req.ctx.clock();
  const resource = findServicePrincipal(t, resourceId);
  if (!resource) throw notFound(resourceId);
  const principal = findServicePrincipal(t, principalId);
  if (!principal) throw notFound(principalId);
  // A service principal created moments ago is not yet a valid reference target (replication).
  if (!principal.firstParty && now - principal.createdAtMs < req.ctx.settings.replicationDelayMs) {
    throw badRequest("Not a valid reference update.");
  }
  const role = resource.appRoles.find(
    (r) => r.id === appRoleId.toLowerCase() && r.isEnabled && r.allowedMemberTypes.includes("Application"),
  );
  if (!role) throw badRequest("Permission being assigned was not found on application.");
  if (
    t.appRoleAssignments.some(
      (a) => a.principalId === principal.id && a.resourceId === resource.id && a.appRoleId === role.id,
    )
  ) {
    throw badRequest("Permission being assigned already exists on the object.");
  }
  const a: AppRoleAssignmentRecord = {
    id: opaqueId(),
    appRoleId: role.id,
    principalId: principal.id,
    principalType: "ServicePrincipal",
    principalDisplayName: principal.displayName,
    resourceId: resource.id,
    resourceDisplayName: resource.displayName,
    createdDateTime: `${new Date(now).toISOString().slice(0, 19)}Z`,
    createdAtMs: now,
  };
  t.appRoleAssignments.push(a);
  return a;
}
