import type { IncomingMessage } from "node:http";
import { acceptsAudience } from "../identity/access-tokens.js";
import { decodeJwt } from "../identity/jwt.js";
import type { EmulatorContext } from "../server.js";
import type { TenantState } from "../state.js";
import type { AccessTokenClaims } from "../types.js";
import { GraphError, insufficientPrivileges } from "./errors.js";
import { ROLE } from "./well-known.js";

/**
 * Who is calling Graph and what they may do. A delegated caller needs the operation's scope AND a
 * directory role that allows it (docs/setup.md, "Admin sign-in"); an app-only caller needs the
 * matching Microsoft Graph application permission in `roles`.
 */
export interface Caller {
  claims: AccessTokenClaims;
  tenant: TenantState;
  delegated: boolean;
}

export type Operation = "read" | "writeApplications" | "writeAppRoleAssignments" | "writeRoleAssignments";

const RULES: Record<Operation, { permissions: string[]; roles?: string[] }> = {
  read: {
    permissions: [
      "Application.Read.All",
      "Application.ReadWrite.All",
      "Application.ReadWrite.OwnedBy",
      "AppRoleAssignment.ReadWrite.All",
      "RoleManagement.Read.Directory",
      "RoleManagement.ReadWrite.Directory",
      "Directory.Read.All",
      "Directory.ReadWrite.All",
    ],
  },
  writeApplications: {
    permissions: ["Application.ReadWrite.All", "Directory.ReadWrite.All"],
    roles: [ROLE.globalAdministrator, ROLE.applicationAdministrator, ROLE.cloudApplicationAdministrator],
  },
  writeAppRoleAssignments: {
    permissions: ["AppRoleAssignment.ReadWrite.All"],
    roles: [
      ROLE.globalAdministrator,
      ROLE.applicationAdministrator,
      ROLE.cloudApplicationAdministrator,
      ROLE.privilegedRoleAdministrator,
    ],
  },
  writeRoleAssignments: {
    permissions: ["RoleManagement.ReadWrite.Directory"],
    roles: [ROLE.globalAdministrator, ROLE.privilegedRoleAdministrator],
  },
};

const invalidToken = (message: string) => new GraphError(401, "InvalidAuthenticationToken", message);

/** Verify the bearer token for the Graph audience; throws 401 InvalidAuthenticationToken otherwise. */
export function authenticate(ctx: EmulatorContext, req: IncomingMessage): Caller {
  const header = req.headers.authorization ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m?.[1]) throw invalidToken("Access token is empty.");
  const token = m[1];
  const nowS = Math.floor(ctx.clock() / 1000);
  const claims = ctx.issuer.verify(token, nowS);
  if (!claims) {
    const exp = decodeJwt(token)?.payload.exp;
    if (typeof exp === "number" && exp <= nowS)
      throw invalidToken("Lifetime validation failed, the token is expired.");
    throw invalidToken("Access token validation failure. Invalid signature.");
  }
  // The Graph origin, https://graph.microsoft.com or Graph's appId (tokens echo what was asked for).
  if (!acceptsAudience(ctx, "graph", claims.aud))
    throw invalidToken("Access token validation failure. Invalid audience.");
  const tenant = ctx.store.tenantById(claims.tid);
  if (!tenant) throw invalidToken("Access token validation failure. Invalid tenant.");
  return { claims, tenant, delegated: claims.idtyp === "user" };
}

export function authorize(caller: Caller, operation: Operation): void {
  const rule = RULES[operation];
  if (caller.delegated) {
    const scopes = (caller.claims.scp ?? "").split(" ");
    if (!rule.permissions.some((p) => scopes.includes(p))) throw insufficientPrivileges();
    if (rule.roles && !rule.roles.some((r) => caller.claims.wids?.includes(r)))
      throw insufficientPrivileges();
    return;
  }
  const roles = caller.claims.roles ?? [];
  if (!rule.permissions.some((p) => roles.includes(p))) throw insufficientPrivileges();
}
