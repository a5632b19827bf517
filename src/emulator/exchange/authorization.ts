/**
 * Who may call which cmdlet, decided from the bearer token the way Exchange Online app-only access
 * works (reference exo-rest.md §6, §8, §12.2; choices among the conflicting observations of §14.4 are
 * documented in docs/emulator-exchange.md):
 *
 * - token missing, unverifiable, expired, wrong audience or tenant  → 401 (invalid_token)
 * - no `Exchange.ManageAsApp` in `roles`                             → 401 "The role assigned to application … isn't supported …"
 * - no supported directory role in `wids`, or grant not yet visible  → 403 with an empty body, reason in `x-ms-diagnostics`
 * - read-only role (Global Reader, Security Reader) calling a non-Get cmdlet → 403 "User is not allowed to call <cmdlet>"
 */

import type { AccessTokenClaims } from "../types.js";
import { type ODataErrorBody, plainError } from "./errors.js";

export const MANAGE_AS_APP = "Exchange.ManageAsApp";

/** Directory role template ids Exchange Online accepts for app-only access (entra-provisioning.md §1.2). */
export const SUPPORTED_ROLES = {
  complianceAdministrator: "17315797-102d-40b4-93e0-432062caca18",
  exchangeAdministrator: "29232cdf-9323-42fd-ade2-1d097af3e4de",
  exchangeRecipientAdministrator: "31392ffb-586c-42d1-9346-e59415a2cc4e",
  globalAdministrator: "62e90394-69f5-4237-9190-012177145e10",
  globalReader: "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
  helpdeskAdministrator: "729827e3-9c14-49f7-bb1b-9608f156bbb8",
  securityAdministrator: "194ae4cb-b126-40b2-bd5b-6091b380977d",
  securityReader: "5d6b6bb7-de71-4623-b4af-96380a352509",
} as const;

const SUPPORTED = new Set<string>(Object.values(SUPPORTED_ROLES));
/** Roles that may only read: they get Get-* cmdlets and nothing else. */
const READ_ONLY = new Set<string>([SUPPORTED_ROLES.globalReader, SUPPORTED_ROLES.securityReader]);

export type AuthorizationFailure = {
  status: 401 | 403;
  body: ODataErrorBody | null;
  headers: Record<string, string>;
};

const BEARER_CHALLENGE =
  'Bearer client_id="00000002-0000-0ff1-ce00-000000000000", token_types="app_asserted_user_v1 service_asserted_app_v1"';

export function invalidToken(reason: string): AuthorizationFailure {
  return {
    status: 401,
    body: plainError("Unauthorized", reason),
    headers: { "WWW-Authenticate": `${BEARER_CHALLENGE}, error="invalid_token"` },
  };
}

function roleNotSupportedText(claims: AccessTokenClaims): string {
  return (
    `The role assigned to application ${claims.appid} isn't supported in this scenario. Please check online ` +
    "documentation for assigning correct Directory Roles to Azure AD Application for EXO App-Only Authentication."
  );
}

/** Can this token use Exchange at all? (`propagated` is false while a new role grant is still replicating.) */
export function authorizeCaller(
  claims: AccessTokenClaims,
  propagated: boolean,
): AuthorizationFailure | undefined {
  if (!(claims.roles ?? []).includes(MANAGE_AS_APP)) {
    return {
      status: 401,
      body: plainError("Unauthorized", roleNotSupportedText(claims)),
      headers: { "WWW-Authenticate": `${BEARER_CHALLENGE}, error="insufficient_claims"` },
    };
  }
  const supported = (claims.wids ?? []).some((id) => SUPPORTED.has(id.toLowerCase()));
  if (!supported || !propagated) {
    // Real 403s here come with an empty body; the reason is only in x-ms-diagnostics (§4.3).
    return {
      status: 403,
      body: null,
      headers: {
        "x-ms-diagnostics": `2000008;reason="${roleNotSupportedText(claims)}";error_category="insufficient_role"`,
      },
    };
  }
  return undefined;
}

/** May this (already admitted) caller run this cmdlet? */
export function authorizeCmdlet(
  claims: AccessTokenClaims,
  cmdletName: string,
): AuthorizationFailure | undefined {
  if (cmdletName.toLowerCase().startsWith("get-")) return undefined;
  const roles = (claims.wids ?? []).map((id) => id.toLowerCase()).filter((id) => SUPPORTED.has(id));
  if (roles.some((id) => !READ_ONLY.has(id))) return undefined;
  const message = `User is not allowed to call ${cmdletName}`;
  return { status: 403, body: plainError("Forbidden", message), headers: {} };
}
