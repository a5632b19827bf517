import { randomUUID } from "node:crypto";
import { EXCHANGE_APP_ID, GRAPH_APP_ID } from "../graph/well-known.js";
import type { EmulatorContext } from "../server.js";
import type { ApplicationRecord, TenantState, UserRecord } from "../state.js";
import type { AccessTokenClaims } from "../types.js";
import { b64url } from "./jwt.js";
import { newUti } from "./tokens.js";

/**
 * What the emulator puts into the tokens it issues: v1-style access tokens (as Exchange app-only
 * tokens are) for an application's service principal or a signed-in user, and the id_token /
 * client_info that MSAL's public client needs after a device-code sign-in.
 */

export type ResourceName = "exchange" | "graph";

const OIDC_SCOPES = new Set(["openid", "profile", "offline_access", "email"]);

/** The well-known identifiers of each resource, besides the emulator's own origin. */
const RESOURCE_ALIASES: Record<ResourceName, string[]> = {
  exchange: [
    "https://outlook.office365.com",
    "https://outlook.office.com",
    "https://ps.outlook.com",
    EXCHANGE_APP_ID,
  ],
  graph: ["https://graph.microsoft.com", GRAPH_APP_ID],
};

export const resourceAppId = (r: ResourceName) => (r === "exchange" ? EXCHANGE_APP_ID : GRAPH_APP_ID);

/** Which resource a scope's resource part names (`<origin>` or a Microsoft alias), if any. */
function resourceOf(ctx: EmulatorContext, resource: string): ResourceName | undefined {
  const r = resource.replace(/\/+$/, "").toLowerCase();
  if (r === ctx.origins.exchange.toLowerCase()) return "exchange";
  if (r === ctx.origins.graph.toLowerCase()) return "graph";
  for (const name of ["exchange", "graph"] as const) {
    if (RESOURCE_ALIASES[name].some((a) => a.toLowerCase() === r)) return name;
  }
  return undefined;
}

export const isOidcScope = (s: string) => OIDC_SCOPES.has(s.toLowerCase());

export interface ParsedScopes {
  resource: ResourceName;
  /** permission names without the resource prefix; [".default"] for the static scope */
  permissions: string[];
}

/**
 * Parse a space-separated scope list: OIDC scopes aside, all scopes must name one resource
 * (`<resource>/<permission>`, or a bare permission meaning Microsoft Graph). Undefined when invalid.
 */
export function parseScopes(ctx: EmulatorContext, scope: string): ParsedScopes | undefined {
  const scopes = scope.split(/\s+/).filter((s) => s && !isOidcScope(s));
  if (scopes.length === 0) return undefined;
  let resource: ResourceName | undefined;
  const permissions: string[] = [];
  for (const s of scopes) {
    const slash = s.lastIndexOf("/");
    const r = slash < 0 ? "graph" : resourceOf(ctx, s.slice(0, slash));
    const permission = slash < 0 ? s : s.slice(slash + 1);
    if (!r || !permission || (resource && resource !== r)) return undefined;
    resource = r;
    permissions.push(permission);
  }
  return resource ? { resource, permissions } : undefined;
}

export const audienceOf = (ctx: EmulatorContext, r: ResourceName) =>
  r === "exchange" ? ctx.origins.exchange : ctx.origins.graph;

/** App role values granted to the SP on the resource, and the directory role template ids it holds. */
export function grantsOf(
  t: TenantState,
  principalId: string,
  resource: ResourceName,
): { roles: string[]; wids: string[] } {
  const resourceSp = t.servicePrincipals.find((sp) => sp.appId === resourceAppId(resource));
  const roles = resourceSp
    ? t.appRoleAssignments
        .filter((a) => a.principalId === principalId && a.resourceId === resourceSp.id)
        .map((a) => resourceSp.appRoles.find((r) => r.id === a.appRoleId)?.value)
        .filter((v): v is string => typeof v === "string")
    : [];
  const wids = [
    ...new Set(t.roleAssignments.filter((a) => a.principalId === principalId).map((a) => a.roleDefinitionId)),
  ];
  return { roles: [...new Set(roles)], wids };
}

const stsIssuer = (tid: string) => `https://sts.windows.net/${tid}/`;

/** An app-only access token for the application's service principal on a resource. */
export function mintAppToken(
  ctx: EmulatorContext,
  t: TenantState,
  app: ApplicationRecord,
  resource: ResourceName,
): { token: string; claims: AccessTokenClaims } {
  const now = Math.floor(ctx.clock() / 1000);
  const sp = t.servicePrincipals.find((s) => s.appId === app.appId);
  // Without a service principal Entra still issues the token, just without any grant in it.
  const grants = sp ? grantsOf(t, sp.id, resource) : { roles: [], wids: [] };
  const claims: AccessTokenClaims & Record<string, unknown> = {
    aud: audienceOf(ctx, resource),
    iss: stsIssuer(t.tenant.id),
    iat: now,
    nbf: now,
    exp: now + ctx.settings.tokenLifetimeSeconds,
    app_displayname: app.displayName,
    appid: app.appId,
    appidacr: "2",
    idp: stsIssuer(t.tenant.id),
    idtyp: "app",
    oid: sp?.id ?? app.id,
    sub: sp?.id ?? app.id,
    tid: t.tenant.id,
    uti: newUti(),
    ver: "1.0",
  };
  if (grants.roles.length) claims.roles = grants.roles;
  if (grants.wids.length) claims.wids = grants.wids;
  return { token: ctx.issuer.sign(claims), claims };
}

/** Every member's implicit directory role ("User"), present in real delegated tokens' wids. */
const DEFAULT_USER_ROLE = "b79fbf4d-3ef9-4689-8143-76b194e85509";

/** A delegated Graph access token for a user, as device-code sign-in returns it. */
export function mintUserToken(
  ctx: EmulatorContext,
  t: TenantState,
  user: UserRecord,
  clientId: string,
  permissions: string[],
): { token: string; claims: AccessTokenClaims } {
  const now = Math.floor(ctx.clock() / 1000);
  const claims: AccessTokenClaims & Record<string, unknown> = {
    aud: ctx.origins.graph,
    iss: stsIssuer(t.tenant.id),
    iat: now,
    nbf: now,
    exp: now + ctx.settings.tokenLifetimeSeconds,
    acr: "1",
    amr: ["pwd", "mfa"],
    appid: clientId,
    appidacr: "0",
    idtyp: "user",
    name: user.displayName,
    oid: user.id,
    scp: permissions.join(" "),
    sub: b64url(`${clientId}:${user.id}`).slice(0, 43),
    tid: t.tenant.id,
    unique_name: user.userPrincipalName,
    upn: user.userPrincipalName,
    uti: newUti(),
    ver: "1.0",
    wids: [...user.roles, DEFAULT_USER_ROLE],
  };
  return { token: ctx.issuer.sign(claims), claims };
}

/** id_token (v2) and client_info for MSAL's account cache after a user sign-in. */
export function mintIdToken(
  ctx: EmulatorContext,
  t: TenantState,
  user: UserRecord,
  clientId: string,
): { idToken: string; clientInfo: string } {
  const now = Math.floor(ctx.clock() / 1000);
  const idToken = ctx.issuer.sign({
    aud: clientId,
    iss: `${ctx.origins.identity}/${t.tenant.id}/v2.0`,
    iat: now,
    nbf: now,
    exp: now + ctx.settings.tokenLifetimeSeconds,
    name: user.displayName,
    oid: user.id,
    preferred_username: user.userPrincipalName,
    sub: b64url(`${clientId}:${user.id}`).slice(0, 43),
    tid: t.tenant.id,
    uti: newUti(),
    ver: "2.0",
  });
  return { idToken, clientInfo: b64url(JSON.stringify({ uid: user.id, utid: t.tenant.id })) };
}

export const newRequestId = () => randomUUID();
