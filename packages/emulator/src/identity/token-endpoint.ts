import { ADMIN_SCOPES } from "../graph/well-known.js";
import type { EmulatorContext } from "../server.js";
import type { TenantState, UserRecord } from "../state.js";
import { type AadstsError, aadsts } from "./aadsts.js";
import {
  isOidcScope,
  mintAppToken,
  mintIdToken,
  mintUserToken,
  type ParsedScopes,
  parseScopes,
  type ResourceName,
  resourceOf,
  resourceServicePrincipal,
} from "./access-tokens.js";
import { verifyCertificateJwt } from "./assertion.js";
import type { DeviceCodeStore } from "./device-code.js";
import { mintRefreshToken, readRefreshToken } from "./refresh-tokens.js";

/**
 * `POST /{tenant}/oauth2/v2.0/token` (scopes) and the v1 `POST /{tenant}/oauth2/token` (`resource=`):
 * client credentials with a certificate-signed assertion, device-code redemption (v2) and refresh
 * tokens. Strict where Entra is strict (docs/emulator.md, "Identity platform").
 */

export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
/** Resources a user may sign in to (delegated tokens); Exchange takes app-only tokens here. */
const DELEGATED_RESOURCES: ResourceName[] = ["graph", "arm"];
/** Entra tolerates clock skew of a few minutes on assertions. */
export const ASSERTION_SKEW_SECONDS = 300;

export type TokenResult = { ok: true; body: Record<string, unknown> } | { ok: false; error: AadstsError };

const fail = (error: AadstsError): TokenResult => ({ ok: false, error });
const isoSeconds = (s: number) => `${new Date(s * 1000).toISOString().slice(0, 19)}Z`;

export interface TokenRequest {
  /** the tenant the URL named (undefined when it names none) */
  tenant: TenantState | undefined;
  /** the tenant path segment as posted (GUID, domain, organizations ...) */
  tenantSegment: string;
  form: URLSearchParams;
  /** "v1": `/oauth2/token` with `resource=`; "v2": `/oauth2/v2.0/token` with `scope=` */
  version: "v1" | "v2";
}

export function handleTokenRequest(
  ctx: EmulatorContext,
  devices: DeviceCodeStore,
  req: TokenRequest,
): TokenResult {
  const grantType = req.form.get("grant_type");
  if (!grantType) {
    return fail(
      aadsts(
        400,
        "invalid_request",
        900144,
        "The request body must contain the following parameter: 'grant_type'.",
      ),
    );
  }
  if (grantType === "client_credentials") return clientCredentials(ctx, req);
  if (grantType === "refresh_token") return redeemRefreshToken(ctx, req);
  // MSAL sends the short form `device_code`; Entra accepts it as well as the RFC 8628 URN.
  if (req.version === "v2" && (grantType === DEVICE_CODE_GRANT || grantType === "device_code"))
    return redeemDeviceCode(ctx, devices, req);
  return fail(
    aadsts(
      400,
      "unsupported_grant_type",
      70003,
      `The app requested an unsupported grant type '${grantType}'.`,
    ),
  );
}

function invalidScope(scope: string): AadstsError {
  return aadsts(
    400,
    "invalid_scope",
    70011,
    `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`,
  );
}

function tenantNotFoundAtToken(segment: string): AadstsError {
  return aadsts(
    400,
    "invalid_request",
    90002,
    `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  );
}

const missingParameter = (name: string) =>
  aadsts(400, "invalid_request", 900144, `The request body must contain the following parameter: '${name}'.`);

/** The tenant lacks the resource's service principal, or no such resource exists (AADSTS500011). */
function resourceNotFound(resourceId: string, tenantName: string): AadstsError {
  return aadsts(
    400,
    "invalid_resource",
    500011,
    `The resource principal named ${resourceId} was not found in the tenant named ${tenantName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
  );
}

type Resolved = { ok: true; scopes: ParsedScopes } | { ok: false; error: AadstsError };

/** A resource identifier (v1 `resource`, or a v2 scope's resource part) that the tenant has. */
function resolveResource(
  ctx: EmulatorContext,
  t: TenantState,
  resourceId: string,
  tenantName: string,
): Resolved {
  const resource = resourceOf(ctx, resourceId);
  // ARM's service principal is in every tenant; Exchange's may be missing (a tenant without Exchange).
  if (!resource || (resource !== "arm" && !resourceServicePrincipal(t, resource))) {
    return { ok: false, error: resourceNotFound(resourceId, tenantName) };
  }
  return { ok: true, scopes: { resource, resourceId, permissions: [".default"] } };
}

/**
 * Client credentials take exactly one `<resource>/.default` scope: another permission is AADSTS1002012,
 * an unknown resource or one without a service principal in the tenant AADSTS500011.
 */
function appScope(ctx: EmulatorContext, t: TenantState, req: TokenRequest): Resolved {
  const tenantName = req.tenantSegment;
  if (req.version === "v1") {
    const resource = req.form.get("resource");
    if (!resource) return { ok: false, error: missingParameter("resource") };
    return resolveResource(ctx, t, resource, tenantName);
  }
  const scope = req.form.get("scope") ?? "";
  const scopes = scope.split(/\s+/).filter((s) => s && !isOidcScope(s));
  if (scopes.length === 0) return { ok: false, error: invalidScope(scope) };
  const notDefault = scopes.find((s) => !s.endsWith("/.default"));
  if (notDefault !== undefined) {
    return {
      ok: false,
      error: aadsts(
        400,
        "invalid_scope",
        1002012,
        `The provided value for scope ${notDefault} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      ),
    };
  }
  if (scopes.length > 1) return { ok: false, error: invalidScope(scope) };
  return resolveResource(ctx, t, scopes[0]!.slice(0, -"/.default".length), tenantName);
}

/** v1 answers carry numbers as strings, plus `expires_on`, `not_before` and `resource`. */
function v1Body(
  ctx: EmulatorContext,
  resourceId: string,
  body: Record<string, unknown>,
): Record<string, unknown> {
  const now = Math.floor(ctx.clock() / 1000);
  const lifetime = ctx.settings.tokenLifetimeSeconds;
  const { scope: _scope, id_token: _id, client_info: _ci, ...rest } = body;
  return {
    ...rest,
    expires_in: String(lifetime),
    ext_expires_in: String(lifetime),
    expires_on: String(now + lifetime),
    not_before: String(now),
    resource: resourceId,
  };
}

function clientCredentials(ctx: EmulatorContext, req: TokenRequest): TokenResult {
  const { form, tenant: t } = req;
  if (!t) return fail(tenantNotFoundAtToken(req.tenantSegment));
  const clientId = form.get("client_id");
  if (!clientId) {
    return fail(
      aadsts(
        400,
        "invalid_request",
        900144,
        "The request body must contain the following parameter: 'client_id'.",
      ),
    );
  }
  if (form.has("client_secret")) {
    return fail(
      aadsts(
        401,
        "invalid_client",
        7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" +
          `${clientId}'.`,
      ),
    );
  }
  const assertion = form.get("client_assertion");
  if (!assertion) {
    return fail(
      aadsts(
        401,
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      ),
    );
  }
  if (form.get("client_assertion_type") !== JWT_BEARER) {
    return fail(
      aadsts(
        400,
        "invalid_request",
        90014,
        `The required field 'client_assertion_type' is missing or is not '${JWT_BEARER}'.`,
      ),
    );
  }
  const now = ctx.clock();
  const app = t.applications.find((a) => a.appId.toLowerCase() === clientId.toLowerCase());
  // A brand-new application is not yet known to the token service (replication, docs/setup.md "Verification while roles propagate").
  if (!app || now - app.createdAtMs < ctx.settings.replicationDelayMs) {
    return fail(
      aadsts(
        400,
        "unauthorized_client",
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${t.tenant.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      ),
    );
  }
  // A key added moments ago has not replicated to the token service: "The key was not found" (AADSTS700027).
  const replicatedKeys = app.keyCredentials.filter(
    (k) => !(now - k.addedAtMs < ctx.settings.replicationDelayMs),
  );
  const verified = verifyCertificateJwt(assertion, replicatedKeys, now);
  if (!verified.ok) {
    switch (verified.reason) {
      case "malformed":
        return fail(aadsts(400, "invalid_request", 50027, "JWT token is invalid or malformed."));
      case "unsupported-alg":
        return fail(
          aadsts(
            401,
            "invalid_client",
            700027,
            `Client assertion failed signature validation. [Reason - The signing algorithm '${verified.alg}' is not supported; use RS256 or PS256.]`,
          ),
        );
      case "bad-signature":
        return fail(aadsts(401, "invalid_client", 700027, "Client assertion failed signature validation."));
      case "key-expired":
        return fail(
          aadsts(
            401,
            "invalid_client",
            700027,
            `Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '${verified.thumbprint}']`,
          ),
        );
      default:
        return fail(
          aadsts(
            401,
            "invalid_client",
            700027,
            `Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '${verified.thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${app.appId}'.]`,
          ),
        );
    }
  }
  const claims = verified.jwt.payload;
  const nowS = Math.floor(now / 1000);
  if (typeof claims.aud !== "string") {
    return fail(
      aadsts(
        400,
        "invalid_request",
        50027,
        "JWT token is invalid or malformed. [Reason - The audience claim must be a single string.]",
      ),
    );
  }
  const endpointPath = req.version === "v1" ? "oauth2/token" : "oauth2/v2.0/token";
  const acceptedAudiences = [t.tenant.id, t.tenant.domain, req.tenantSegment].map((seg) =>
    `${ctx.origins.identity}/${seg}/${endpointPath}`.toLowerCase(),
  );
  if (!acceptedAudiences.includes(claims.aud.toLowerCase())) {
    return fail(
      aadsts(
        400,
        "invalid_request",
        50027,
        `JWT token is invalid or malformed. [Reason - The audience '${claims.aud}' is not the token endpoint '${ctx.origins.identity}/${req.tenantSegment}/${endpointPath}'.]`,
      ),
    );
  }
  if (claims.iss !== claims.sub) {
    return fail(
      aadsts(401, "invalid_client", 50048, "Subject mismatches Issuer claim in the client assertion."),
    );
  }
  if (typeof claims.iss !== "string" || claims.iss.toLowerCase() !== clientId.toLowerCase()) {
    return fail(
      aadsts(
        401,
        "invalid_client",
        700021,
        "Client assertion application identifier doesn't match 'client_id' parameter.",
      ),
    );
  }
  const exp = typeof claims.exp === "number" ? claims.exp : undefined;
  const nbf = typeof claims.nbf === "number" ? claims.nbf : 0;
  if (exp === undefined || exp <= nowS || nbf > nowS + ASSERTION_SKEW_SECONDS) {
    return fail(
      aadsts(
        401,
        "invalid_client",
        700024,
        `Client assertion is not within its valid time range. Current time: ${isoSeconds(nowS)}, assertion valid from ${isoSeconds(nbf)}, expiry time of assertion ${isoSeconds(exp ?? 0)}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
      ),
    );
  }
  // An application without a service principal in the tenant cannot get an app-only token; nor while
  // a new one has not replicated to the token service (docs/emulator.md "Propagation").
  const sp = t.servicePrincipals.find((s) => s.appId === app.appId);
  if (!sp || now - sp.createdAtMs < ctx.settings.replicationDelayMs) {
    return fail(
      aadsts(
        400,
        "invalid_client",
        7000229,
        `The client application ${app.appId} is missing service principal in the tenant ${t.tenant.id}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119`,
      ),
    );
  }
  const resolved = appScope(ctx, t, req);
  if (!resolved.ok) return fail(resolved.error);
  const { token } = mintAppToken(ctx, t, app, sp, resolved.scopes);
  const lifetime = ctx.settings.tokenLifetimeSeconds;
  const body = { token_type: "Bearer", expires_in: lifetime, ext_expires_in: lifetime, access_token: token };
  return { ok: true, body: req.version === "v1" ? v1Body(ctx, resolved.scopes.resourceId, body) : body };
}

function redeemDeviceCode(ctx: EmulatorContext, devices: DeviceCodeStore, req: TokenRequest): TokenResult {
  const code = req.form.get("device_code") ?? "";
  const grant = devices.get(code);
  const now = ctx.clock();
  if (!grant || grant.clientId !== req.form.get("client_id")) {
    return fail(aadsts(400, "invalid_grant", 70000, "Provided grant is invalid or malformed."));
  }
  if (grant.expiresAtMs <= now) {
    devices.consume(code);
    return fail(
      aadsts(
        400,
        "expired_token",
        70020,
        "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
      ),
    );
  }
  if (!grant.approvedUserId) {
    return fail(
      aadsts(
        400,
        "authorization_pending",
        70016,
        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
      ),
    );
  }
  const t = ctx.store.tenantById(grant.tenantId);
  const user = t?.users.find((u) => u.id === grant.approvedUserId);
  if (!t || !user)
    return fail(aadsts(400, "invalid_grant", 70000, "Provided grant is invalid or malformed."));
  devices.consume(code);
  const parsed = parseScopes(ctx, grant.scope);
  return userTokens(ctx, t, user, grant.clientId, grant.scope, parsed, "v2");
}

/** Access token (+ refresh token with offline_access, + id_token and client_info) for a signed-in user. */
function userTokens(
  ctx: EmulatorContext,
  t: TenantState,
  user: UserRecord,
  clientId: string,
  scope: string,
  parsed: ParsedScopes | undefined,
  version: "v1" | "v2",
): TokenResult {
  const resource = parsed?.resource ?? "graph";
  const permissions = delegatedPermissions(parsed?.permissions ?? [".default"], resource);
  const { token } = mintUserToken(ctx, t, user, clientId, permissions, parsed?.resourceId);
  const { idToken, clientInfo } = mintIdToken(ctx, t, user, clientId);
  const lifetime = ctx.settings.tokenLifetimeSeconds;
  const body: Record<string, unknown> = {
    token_type: "Bearer",
    scope,
    expires_in: lifetime,
    ext_expires_in: lifetime,
    access_token: token,
  };
  // Entra issues a refresh token only when offline_access was asked for; a refresh always renews it.
  const offline = scope.split(/\s+/).some((s) => s.toLowerCase() === "offline_access");
  if (offline || version === "v1") {
    body.refresh_token = mintRefreshToken(ctx, { tenantId: t.tenant.id, userId: user.id, clientId });
  }
  body.id_token = idToken;
  body.client_info = clientInfo;
  return { ok: true, body: version === "v1" ? v1Body(ctx, parsed?.resourceId ?? "", body) : body };
}

/**
 * `grant_type=refresh_token`: a new access token (and refresh token) for the user the refresh token was
 * issued to, for the same client; v2 names the resource in `scope`, v1 in `resource`.
 */
function redeemRefreshToken(ctx: EmulatorContext, req: TokenRequest): TokenResult {
  const { form } = req;
  const refreshToken = form.get("refresh_token");
  if (!refreshToken) return fail(missingParameter("refresh_token"));
  const clientId = form.get("client_id");
  if (!clientId) return fail(missingParameter("client_id"));
  const grant = readRefreshToken(ctx, refreshToken);
  if (grant === undefined) {
    return fail(aadsts(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."));
  }
  if (grant === "expired") {
    return fail(
      aadsts(
        400,
        "invalid_grant",
        700082,
        "The refresh token has expired due to inactivity. The token was issued on a date more than 90 days ago and was inactive for 90.00:00:00.",
      ),
    );
  }
  const t = ctx.store.tenantById(grant.tenantId);
  const user = t?.users.find((u) => u.id === grant.userId);
  if (!t || !user || grant.clientId.toLowerCase() !== clientId.toLowerCase()) {
    return fail(aadsts(400, "invalid_grant", 70000, "Provided grant is invalid or malformed."));
  }
  let scope: string;
  let parsed: ParsedScopes | undefined;
  if (req.version === "v1") {
    const resourceId = form.get("resource");
    if (!resourceId) return fail(missingParameter("resource"));
    const resolved = resolveResource(ctx, t, resourceId, req.tenantSegment);
    if (!resolved.ok) return fail(resolved.error);
    parsed = resolved.scopes;
    scope = "user_impersonation";
  } else {
    scope = form.get("scope") ?? "";
    const scopeError = deviceCodeScopeError(ctx, scope);
    if (scopeError) return fail(scopeError);
    parsed = parseScopes(ctx, scope);
  }
  return userTokens(ctx, t, user, grant.clientId, scope, parsed, req.version);
}

/** `.default` means "what the admin consented to": the setup scopes on Graph, user_impersonation on ARM. */
export function delegatedPermissions(permissions: string[], resource: ResourceName = "graph"): string[] {
  const consented = resource === "graph" ? ADMIN_SCOPES : ["user_impersonation"];
  const out = permissions.flatMap((p) => (p === ".default" ? consented : [p]));
  return [...new Set(out)];
}

/** Validate a user sign-in's scope; undefined when it names one resource users may sign in to. */
export function deviceCodeScopeError(ctx: EmulatorContext, scope: string): AadstsError | undefined {
  const parsed = parseScopes(ctx, scope);
  if (!parsed || !DELEGATED_RESOURCES.includes(parsed.resource)) {
    const nonOidc = scope.split(/\s+/).filter((s) => s && !isOidcScope(s));
    return invalidScope(nonOidc.join(" ") || scope);
  }
  return undefined;
}
