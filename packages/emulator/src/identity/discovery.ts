import type { EmulatorContext } from "../server.js";
import { aadsts } from "./aadsts.js";

/**
 * The discovery documents MSAL reads (docs/emulator.md, "Identity platform"): OIDC metadata per tenant and
 * instance discovery. Every URL is built from the public https origin, never from the socket.
 */

/** OIDC metadata. `tenantPath` is the tenant GUID, or `organizations`/`common` (then the issuer is a template). */
export function openIdConfiguration(ctx: EmulatorContext, tenantPath: string, tenantId: string | undefined) {
  const base = `${ctx.origins.identity}/${tenantPath}`;
  const issuerTenant = tenantId ?? "{tenantid}";
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: `${ctx.origins.identity}/${issuerTenant}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${ctx.origins.graph}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: [
      "sub",
      "iss",
      "cloud_instance_name",
      "cloud_instance_host_name",
      "cloud_graph_host_name",
      "msgraph_host",
      "aud",
      "exp",
      "iat",
      "auth_time",
      "acr",
      "nonce",
      "preferred_username",
      "name",
      "tid",
      "ver",
      "at_hash",
      "c_hash",
      "email",
    ],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: "WW",
    cloud_instance_name: "microsoftonline.com",
    cloud_graph_host_name: "graph.windows.net",
    msgraph_host: new URL(ctx.origins.graph).host,
    rbac_url: "https://pas.windows.net",
  };
}

/**
 * v1 OIDC metadata (`/{tenant}/.well-known/openid-configuration`): the issuer is the one v1 access
 * tokens carry (`https://sts.windows.net/{tid}/`), keys at `/common/discovery/keys`, v1 endpoints.
 */
export function openIdConfigurationV1(
  ctx: EmulatorContext,
  tenantPath: string,
  tenantId: string | undefined,
) {
  const base = `${ctx.origins.identity}/${tenantPath}`;
  return {
    token_endpoint: `${base}/oauth2/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `${ctx.origins.identity}/common/discovery/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "token id_token", "token"],
    scopes_supported: ["openid"],
    issuer: `https://sts.windows.net/${tenantId ?? "{tenantid}"}/`,
    microsoft_multi_refresh_token: true,
    authorization_endpoint: `${base}/oauth2/authorize`,
    device_authorization_endpoint: `${base}/oauth2/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/logout`,
    claims_supported: [
      "sub",
      "iss",
      "cloud_instance_name",
      "cloud_instance_host_name",
      "cloud_graph_host_name",
      "msgraph_host",
      "aud",
      "exp",
      "iat",
      "auth_time",
      "acr",
      "amr",
      "nonce",
      "email",
      "given_name",
      "family_name",
      "nickname",
    ],
    check_session_iframe: `${base}/oauth2/checksession`,
    userinfo_endpoint: `${base}/openid/userinfo`,
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: "WW",
    cloud_instance_name: "microsoftonline.com",
    cloud_graph_host_name: "graph.windows.net",
    msgraph_host: new URL(ctx.origins.graph).host,
    rbac_url: "https://pas.windows.net",
  };
}

/** Microsoft's public-cloud hosts, as instance discovery lists them (docs/emulator.md). */
const PUBLIC_CLOUD = {
  preferred_network: "login.microsoftonline.com",
  preferred_cache: "login.windows.net",
  aliases: ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"],
};

/**
 * Instance discovery. Like Microsoft's endpoint it lists every cloud it knows in `metadata` — the
 * emulator host (its own only alias) and Microsoft's public cloud, which MSAL Python asks about with
 * `authorization_endpoint=https://login.microsoftonline.com/common/oauth2/authorize` before a silent
 * call. An `authorization_endpoint` on any other host name is not an instance it knows: 400
 * `invalid_instance` AADSTS50049, which makes MSAL refuse the authority.
 */
export function instanceDiscovery(ctx: EmulatorContext, authorizationEndpoint: string | null) {
  const origin = new URL(ctx.origins.identity);
  const metadata = [
    { preferred_network: origin.host, preferred_cache: origin.host, aliases: [origin.host] },
    PUBLIC_CLOUD,
  ];
  let base = ctx.origins.identity;
  let tenant = "common";
  if (authorizationEndpoint) {
    let url: URL | undefined;
    try {
      url = new URL(authorizationEndpoint);
    } catch {
      url = undefined;
    }
    // Host names are compared without the port: MSAL Python builds this parameter from the authority's
    // hostname alone (`https://127.0.0.1/{tenant}/oauth2/v2.0/authorize` for an authority on :8443).
    const host = url?.hostname.toLowerCase();
    const microsoft = host !== undefined && PUBLIC_CLOUD.aliases.includes(host);
    if (url?.protocol !== "https:" || (host !== origin.hostname.toLowerCase() && !microsoft)) {
      return aadsts(400, "invalid_instance", 50049, "Unknown or invalid instance.");
    }
    if (microsoft) base = `https://${host}`;
    tenant = url.pathname.split("/").filter(Boolean)[0] ?? "common";
  }
  return {
    tenant_discovery_endpoint: `${base}/${tenant}/v2.0/.well-known/openid-configuration`,
    "api-version": "1.1",
    metadata,
  };
}
