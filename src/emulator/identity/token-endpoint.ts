import { ADMIN_SCOPES } from "../graph/well-known.js";
import type { EmulatorContext } from "../server.js";
import type { TenantState } from "../state.js";
import { type AadstsError, aadsts } from "./aadsts.js";
import { isOidcScope, mintAppToken, mintIdToken, mintUserToken, parseScopes } from "./access-tokens.js";
import { verifyCertificateJwt } from "./assertion.js";
import type { DeviceCodeStore } from "./device-code.js";

/**
 * `POST /{tenant}/oauth2/v2.0/token`: client credentials with a certificate-signed assertion, and
 * device-code redemption. Strict where Entra is strict (certs-tokens.md §1, §7).
 */

export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
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
  // MSAL sends the short form `device_code`; Entra accepts it as well as the RFC 8628 URN.
  if (grantType === DEVICE_CODE_GRANT || grantType === "device_code")
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
  // A brand-new application is not yet known to the token service (replication, entra-provisioning.md §5).
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
  const verified = verifyCertificateJwt(assertion, app.keyCredentials, now);
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
  const acceptedAudiences = [t.tenant.id, t.tenant.domain, req.tenantSegment].map((seg) =>
    `${ctx.origins.identity}/${seg}/oauth2/v2.0/token`.toLowerCase(),
  );
  if (!acceptedAudiences.includes(claims.aud.toLowerCase())) {
    return fail(
      aadsts(
        400,
        "invalid_request",
        50027,
        `JWT token is invalid or malformed. [Reason - The audience '${claims.aud}' is not the token endpoint '${ctx.origins.identity}/${req.tenantSegment}/oauth2/v2.0/token'.]`,
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
  const scope = form.get("scope") ?? "";
  const parsed = parseScopes(ctx, scope);
  if (parsed?.permissions.length !== 1 || parsed.permissions[0] !== ".default") {
    return fail(invalidScope(scope));
  }
  const { token } = mintAppToken(ctx, t, app, parsed.resource);
  const lifetime = ctx.settings.tokenLifetimeSeconds;
  return {
    ok: true,
    body: { token_type: "Bearer", expires_in: lifetime, ext_expires_in: lifetime, access_token: token },
  };
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
  const permissions = delegatedPermissions(parsed?.permissions ?? [".default"]);
  const { token } = mintUserToken(ctx, t, user, grant.clientId, permissions);
  const { idToken, clientInfo } = mintIdToken(ctx, t, user, grant.clientId);
  const lifetime = ctx.settings.tokenLifetimeSeconds;
  return {
    ok: true,
    body: {
      token_type: "Bearer",
      scope: grant.scope,
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: token,
      id_token: idToken,
      client_info: clientInfo,
    },
  };
}

/** `.default` means "what the admin consented to": the setup scopes. */
export function delegatedPermissions(permissions: string[]): string[] {
  const out = permissions.flatMap((p) => (p === ".default" ? ADMIN_SCOPES : [p]));
  return [...new Set(out)];
}

/** Validate a device-code request's scope; undefined when it names no single Graph resource. */
export function deviceCodeScopeError(ctx: EmulatorContext, scope: string): AadstsError | undefined {
  const parsed = parseScopes(ctx, scope);
  if (parsed?.resource !== "graph") {
    const nonOidc = scope.split(/\s+/).filter((s) => s && !isOidcScope(s));
    return invalidScope(nonOidc.join(" ") || scope);
  }
  return undefined;
}
