import { randomUUID } from "node:crypto";
import { EXCHANGE_APP_ID, GRAPH_APP_ID } from "../graph/well-known.js";
import type { EmulatorContext } from "../server.js";
import type { ApplicationRecord, ServicePrincipalRecord, TenantState, UserRecord } from "../state.js";
import type { AccessTokenClaims } from "../types.js";
import { b64url } from "./jwt.js";
import { newUti } from "./tokens.js";

/**
 * What the emulator puts into the tokens it issues: v1-style access tokens (as Exchange app-only
 * tokens are) for an application's service principal or a signed-in user, and the id_token /
 * client_info that MSAL's public client needs after a device-code sign-in.
 */

export type ResourceName = "exchange" | "graph" | "arm";

const OIDC_SCOPES = new Set(["openid", "profile", "offline_access", "email"]);

/** Azure Resource Manager ("Windows Azure Service Management API"), present in every tenant. */
export const ARM_APP_ID = "797f4846-ba00-4fd7-ba43-dac1f8f63013";

/**
 * The real identifiers of each resource (application ID URIs and appIds), besides the emulator's own
 * origins: a script written for the real cloud keeps its scopes and only changes hosts.
 */
const RESOURCE_ALIASES: Record<ResourceName, string[]> = {
  exchange: [
    "https://outlook.office365.com",
    "https://outlook.office.com",
    "https://ps.outlook.com",
    EXCHANGE_APP_ID,
  ],
  graph: ["https://graph.microsoft.com", GRAPH_APP_ID],
  arm: ["https://management.core.windows.net", "https://management.azure.com", ARM_APP_ID],
};

/** The first-party app whose service principal must be in the tenant; ARM's is always there. */
export const resourceAppId = (r: ResourceName) =>
  r === "exchange" ? EXCHANGE_APP_ID : r === "graph" ? GRAPH_APP_ID : ARM_APP_ID;

/** Which resource an identifier (`<origin>`, an application ID URI or an appId) names, if any. */
export function resourceOf(ctx: EmulatorContext, resource: string): ResourceName | undefined {
  const r = resource.replace(/\/+$/, "").toLowerCase();
  if (r === ctx.origins.exchange.toLowerCase()) return "exchange";
  if (r === ctx.origins.graph.toLowerCase()) return "graph";
  for (const name of ["exchange", "graph", "arm"] as const) {
    if (RESOURCE_ALIASES[name].some((a) => a.toLowerCase() === r)) return name;
  }
  return undefined;
}

/**
 * Whether a token's `aud` is meant for `resource`: the emulator's origin or any real identifier of
 * that resource, with or without a trailing slash (tokens echo the identifier the client asked for).
 */
export const acceptsAudience = (ctx: EmulatorContext, resource: ResourceName, aud: unknown) =>
  typeof aud === "string" && resourceOf(ctx, aud) === resource;

export const isOidcScope = (s: string) => OIDC_SCOPES.has(s.toLowerCase());

export interface ParsedScopes {
  resource: ResourceName;
  /** the resource part exactly as requested (the token's `aud`, as Entra echoes it) */
  resourceId: string;
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
  let parsed: ParsedScopes | undefined;
  for (const s of scopes) {
    const slash = s.lastIndexOf("/");
    const resourceId = slash < 0 ? GRAPH_APP_ID : s.slice(0, slash);
    const r = resourceOf(ctx, resourceId);
    const permission = slash < 0 ? s : s.slice(slash + 1);
    if (!r || !permission || (parsed && parsed.resource !== r)) return undefined;
    parsed ??= { resource: r, resourceId, permissions: [] };
    parsed.permissions.push(permission);
  }
  return parsed;
}

/** The tenant's service principal of a resource (undefined when the tenant lacks it). */
export function resourceServicePrincipal(t: TenantState, resource: ResourceName) {
  return t.servicePrincipals.find((sp) => sp.appId === resourceAppId(resource));
}

/** App role values granted to the SP on the resource, and the directory role template ids it holds. */
export function grantsOf(
  t: TenantState,
  principalId: string,
  resource: ResourceName,
): { roles: string[]; wids: string[] } {
  const resourceSp = resourceServicePrincipal(t, resource);
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

/**
 * An app-only access token for the application's service principal on a resource. `aud` is the
 * resource identifier as requested (`https://outlook.office365.com` for Exchange, as real tokens show).
 */
export function mintAppToken(
  ctx: EmulatorContext,
  t: TenantState,
  app: ApplicationRecord,
  sp: ServicePrincipalRecord,
  scopes: Pick<ParsedScopes, "resource" | "resourceId">,
): { token: string; claims: AccessTokenClaims } {
  const now = Math.floor(ctx.clock() / 1000);
  const grants = grantsOf(t, sp.id, scopes.resource);
  const claims: AccessTokenClaims & Record<string, unknown> = {
    aud: scopes.resourceId,
    iss: stsIssuer(t.tenant.id),
    iat: now,
    nbf: now,
    exp: now + ctx.settings.tokenLifetimeSeconds,
    app_displayname: app.displayName,
    appid: app.appId,
    appidacr: "2",
    idp: stsIssuer(t.tenant.id),
    idtyp: "app",
    oid: sp.id,
    sub: sp.id,
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

/** A delegated access token for a user, as device-code sign-in and refresh return it (`aud` default: Graph's origin). */
export function mintUserToken(
  ctx: EmulatorContext,
  t: TenantState,
  user: UserRecord,
  clientId: string,
  permissions: string[],
  audience: string = ctx.origins.graph,
): { token: string; claims: AccessTokenClaims } {
  const now = Math.floor(ctx.clock() / 1000);
  const claims: AccessTokenClaims & Record<string, unknown> = {
    aud: audience,
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
