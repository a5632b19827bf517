/**
 * The identity platform's discovery document (`{authority}/v2.0/.well-known/openid-configuration`), read
 * by us instead of by MSAL and handed to it as `auth.authorityMetadata`.
 *
 * Why: the request is the same GET MSAL would send first (docs/invoke.md, "How it behaves on the wire"), but we can send it
 * while MSAL's ~230 KB are still being loaded, so a command's first request leaves that much earlier and
 * the network wait overlaps the loading (docs/architecture.md, "Start-up"). MSAL then does no discovery
 * of its own and goes straight to the token POST.
 *
 * MSAL validates the document's issuer only when it fetched the document itself, so the same rule is
 * applied here: the issuer is on the authority's own host, or on one of Microsoft's login hosts.
 */
import { AuthenticationError } from "../errors.js";

/** What MSAL requires of the document (`isOpenIdConfigResponse` in msal-common). */
export interface AuthorityMetadata {
  token_endpoint: string;
  authorization_endpoint: string;
  issuer: string;
  jwks_uri: string;
  [other: string]: unknown;
}

/**
 * Microsoft's login hosts of the public and sovereign clouds and their aliases: MSAL trusts an issuer on
 * any of them. Every cloud's v2.0 issuer we know of is on the authority's own host; accepting the aliases
 * too keeps us no stricter than MSAL if one ever is not.
 */
const MICROSOFT_LOGIN_HOSTS = new Set([
  "login.microsoftonline.com",
  "login.windows.net",
  "login.microsoft.com",
  "sts.windows.net",
  "login.microsoftonline.us",
  "login.usgovcloudapi.net",
  "login.chinacloudapi.cn",
  "login.partner.microsoftonline.cn",
]);

/** The document's URL, built the way MSAL builds it from an authority `https://host/tenant`. */
export function authorityMetadataUrl(authorityOrigin: string, tenant: string): string {
  return `${authorityOrigin}/${tenant}/v2.0/.well-known/openid-configuration`;
}

/**
 * Check a fetched document: the four fields MSAL needs, and an issuer MSAL would have accepted. Throws an
 * AuthenticationError naming what is wrong otherwise.
 */
export function validateAuthorityMetadata(body: unknown, authorityOrigin: string): AuthorityMetadata {
  const doc = (body ?? {}) as Partial<Record<keyof AuthorityMetadata, unknown>>;
  const missing = (["token_endpoint", "authorization_endpoint", "issuer", "jwks_uri"] as const).filter(
    (field) => typeof doc[field] !== "string",
  );
  if (missing.length > 0) {
    throw new AuthenticationError(
      `The identity configuration of ${authorityOrigin} lacks ${missing.join(", ")}.`,
      { hint: "Check EXO_AUTHORITY_HOST / --exchange-environment: it must name an identity platform." },
    );
  }
  const authority = new URL(authorityOrigin);
  const issuer = URL.canParse(doc.issuer as string) ? new URL(doc.issuer as string) : undefined;
  const sameHost = issuer?.protocol === authority.protocol && issuer.host === authority.host;
  const microsoft = issuer?.protocol === "https:" && MICROSOFT_LOGIN_HOSTS.has(issuer.hostname);
  if (!sameHost && !microsoft) {
    throw new AuthenticationError(
      `The identity configuration of ${authorityOrigin} names an issuer on another host (${String(doc.issuer)}).`,
      { hint: "Check EXO_AUTHORITY_HOST / --exchange-environment: it must name an identity platform." },
    );
  }
  return doc as AuthorityMetadata;
}
