import type { EmulatorContext } from "../server.js";
import { newUti } from "./tokens.js";

/**
 * Refresh tokens, issued with a user sign-in when `offline_access` was requested (Entra's rule). Opaque
 * to clients; here a JWS signed with the token signing key, so they survive a restart with `--state`
 * like real ones survive a client restart. They carry no `aud`, so no API accepts one as an access
 * token, and the `typ` claim keeps an access token from being redeemed as a refresh token.
 */

/** Entra's default inactivity lifetime of a refresh token: 90 days. */
export const REFRESH_TOKEN_LIFETIME_S = 90 * 86_400;
const TYP = "exo-cba-emulator-refresh";

export interface RefreshGrant {
  tenantId: string;
  userId: string;
  clientId: string;
}

export function mintRefreshToken(ctx: EmulatorContext, grant: RefreshGrant): string {
  const now = Math.floor(ctx.clock() / 1000);
  return ctx.issuer.sign({
    typ: TYP,
    tid: grant.tenantId,
    oid: grant.userId,
    cid: grant.clientId,
    iat: now,
    exp: now + REFRESH_TOKEN_LIFETIME_S,
    jti: newUti(),
  });
}

/** The grant behind a refresh token; "expired" past its lifetime; undefined when it is not one of ours. */
export function readRefreshToken(ctx: EmulatorContext, token: string): RefreshGrant | "expired" | undefined {
  const p = ctx.issuer.verifySignature(token);
  if (!p || p.typ !== TYP) return undefined;
  if (typeof p.tid !== "string" || typeof p.oid !== "string" || typeof p.cid !== "string") return undefined;
  if (typeof p.exp !== "number" || p.exp <= Math.floor(ctx.clock() / 1000)) return "expired";
  return { tenantId: p.tid, userId: p.oid, clientId: p.cid };
}
