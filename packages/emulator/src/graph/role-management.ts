import { randomBytes } from "node:crypto";
import type { RoleAssignmentRecord } from "../state.js";
import { authorize } from "./authz.js";
import { type GraphRequest, type GraphResult, metadata, noContent, ok } from "./context.js";
import { badRequest, GraphError, notFound } from "./errors.js";
import { applySelect, matches, page, parseFilter } from "./odata.js";
import { BUILT_IN_ROLES } from "./well-known.js";

/** /roleManagement/directory/roleDefinitions and /roleAssignments (docs/graph-queries.md). */

const roleDefinitionJson = (r: (typeof BUILT_IN_ROLES)[number]) => ({
  id: r.id,
  description: r.description,
  displayName: r.displayName,
  isBuiltIn: true,
  isEnabled: true,
  resourceScopes: ["/"],
  templateId: r.id,
  version: "1",
  rolePermissions: [],
});

const roleAssignmentJson = (a: RoleAssignmentRecord) => ({
  id: a.id,
  principalId: a.principalId,
  roleDefinitionId: a.roleDefinitionId,
  directoryScopeId: a.directoryScopeId,
  appScopeId: null,
  condition: null,
});

const notAllowed = () =>
  new GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");

export async function roleManagement(req: GraphRequest): Promise<GraphResult> {
  const { segments, method, caller } = req;
  const t = caller.tenant;
  if (segments[1] !== "directory")
    throw new GraphError(400, "BadRequest", `Resource not found for the segment '${segments[1] ?? ""}'.`);
  const collection = segments[2];
  const id = segments[3];
  if (collection === "roleDefinitions") {
    if (method !== "GET") throw notAllowed();
    authorize(caller, "read");
    const select = req.url.searchParams.get("$select");
    if (id) {
      const role = BUILT_IN_ROLES.find((r) => r.id === id.toLowerCase());
      if (!role) throw notFound(id);
      return ok(
        applySelect(
          {
            "@odata.context": metadata(req, "roleManagement/directory/roleDefinitions/$entity"),
            ...roleDefinitionJson(role),
          },
          select,
        ),
      );
    }
    const clauses = parseFilter(
      req.url.searchParams.get("$filter"),
      ["displayName", "id", "templateId"],
      "UnifiedRoleDefinition",
    );
    const rows = BUILT_IN_ROLES.map(roleDefinitionJson)
      .filter((r) => matches(r, clauses))
      .map((r) => applySelect(r, select));
    return ok(page(rows, req.url, metadata(req, "roleManagement/directory/roleDefinitions")));
  }
  if (collection !== "roleAssignments")
    throw new GraphError(400, "BadRequest", `Resource not found for the segment '${collection ?? ""}'.`);
  const context = metadata(req, "roleManagement/directory/roleAssignments");
  if (!id && method === "GET") {
    authorize(caller, "read");
    const clauses = parseFilter(
      req.url.searchParams.get("$filter"),
      ["principalId", "roleDefinitionId", "directoryScopeId", "id"],
      "UnifiedRoleAssignment",
    );
    const rows = t.roleAssignments.map(roleAssignmentJson).filter((r) => matches(r, clauses));
    return ok(page(rows, req.url, context));
  }
  if (!id && method === "POST") {
    authorize(caller, "writeRoleAssignments");
    const a = createRoleAssignment(req, await req.body());
    await req.ctx.store.commit();
    return ok({ "@odata.context": `${context}/$entity`, ...roleAssignmentJson(a) }, 201);
  }
  if (id && (method === "GET" || method === "DELETE")) {
    authorize(caller, method === "GET" ? "read" : "writeRoleAssignments");
    const a = t.roleAssignments.find((x) => x.id === id);
    if (!a) throw notFound(id);
    if (method === "GET") return ok({ "@odata.context": `${context}/$entity`, ...roleAssignmentJson(a) });
    t.roleAssignments = t.roleAssignments.filter((x) => x !== a);
    const user = t.users.find((u) => u.id === a.principalId);
    if (user) user.roles = user.roles.filter((r) => r !== a.roleDefinitionId);
    await req.ctx.store.commit();
    return noContent();
  }
  throw notAllowed();
}

function createRoleAssignment(req: GraphRequest, body: Record<string, unknown>): RoleAssignmentRecord {
  const t = req.caller.tenant;
  const { principalId, roleDefinitionId, directoryScopeId } = body;
  if (typeof principalId !== "string" || typeof roleDefinitionId !== "string") {
    throw badRequest("One or more properties are invalid.");
  }
  if (typeof directoryScopeId !== "string" || !directoryScopeId.startsWith("/")) {
    throw badRequest("Either DirectoryScopeId or AppScopeId must be specified.");
  }
  const role = BUILT_IN_ROLES.find((r) => r.id === roleDefinitionId.toLowerCase());
  if (!role) throw notFound(roleDefinitionId);
  const now = req.ctx.clock();
  const pid = principalId.toLowerCase();
  const sp = t.servicePrincipals.find((s) => s.id === pid);
  const user = t.users.find((u) => u.id === pid);
  // A service principal created moments ago cannot be found yet by the role store (replication).
  if (
    (!sp && !user) ||
    (sp && !sp.firstParty && now - sp.createdAtMs < req.ctx.settings.replicationDelayMs)
  ) {
    throw notFound(principalId);
  }
  if (
    t.roleAssignments.some(
      (a) =>
        a.principalId === pid && a.roleDefinitionId === role.id && a.directoryScopeId === directoryScopeId,
    )
  ) {
    throw badRequest(
      "A conflicting object with one or more of the specified property values is present in the directory.",
    );
  }
  const a: RoleAssignmentRecord = {
    id: `${randomBytes(32).toString("base64url")}-1`,
    principalId: pid,
    roleDefinitionId: role.id,
    directoryScopeId,
    createdAtMs: now,
  };
  t.roleAssignments.push(a);
  if (user && !user.roles.includes(role.id)) user.roles.push(role.id);
  return a;
}
