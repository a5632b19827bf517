/**
 * Who may call which cmdlet, decided from the bearer token the way Exchange Online app-only access
 * works (docs/exchange-rest.md §7 and docs/exchange-rbac.md; where sources conflict, the choices
 * are documented in docs/emulator-exchange.md):
 *
 * - token missing, unverifiable, expired, wrong audience or tenant  → 401 (invalid_token)
 * - no `Exchange.ManageAsApp` in `roles`                             → 401 "The role assigned to application … isn't supported …"
 * - no supported directory role in `wids`, or grant not yet visible  → 403 with an empty body, reason in `x-ms-diagnostics`
 * - a cmdlet none of the token's roles' Exchange role groups holds   → 403 "User is not allowed to call <cmdlet>"
 *
 * Each supported directory role acts through its Exchange role group, and each group holds a set of
 * the emulated cmdlets; the table and its sources (and what is inferred) are in docs/exchange-rbac.md.
 */

import type { AccessTokenClaims } from "../types.js";
import { type ODataErrorBody, plainError } from "./errors.js";

export const MANAGE_AS_APP = "Exchange.ManageAsApp";

/** Directory role template ids Exchange Online accepts for app-only access (docs/exchange-rbac.md). */
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

/** The Exchange Online role group each supported directory role is a member of (docs/exchange-rbac.md). */
export const ROLE_GROUP_OF_ROLE: Record<string, RoleGroup> = {
  [SUPPORTED_ROLES.globalAdministrator]: "Organization Management",
  [SUPPORTED_ROLES.exchangeAdministrator]: "Organization Management",
  [SUPPORTED_ROLES.globalReader]: "View-Only Organization Management",
  [SUPPORTED_ROLES.exchangeRecipientAdministrator]: "Recipient Management",
  [SUPPORTED_ROLES.helpdeskAdministrator]: "Help Desk",
  [SUPPORTED_ROLES.complianceAdministrator]: "Compliance Management",
  [SUPPORTED_ROLES.securityAdministrator]: "Security Administrator",
  [SUPPORTED_ROLES.securityReader]: "Security Reader",
};

export type RoleGroup =
  | "Organization Management"
  | "View-Only Organization Management"
  | "Recipient Management"
  | "Help Desk"
  | "Compliance Management"
  | "Security Administrator"
  | "Security Reader";

const RECIPIENT_READS = ["get-mailbox", "get-mailboxstatistics", "get-recipient", "get-user"];
const CONFIG_READS = ["get-organizationconfig", "get-accepteddomain"];

/**
 * The emulated cmdlets each role group may run (lower case). Organization Management may run anything.
 * A cmdlet the emulator adds later and that is not listed here is open to Organization Management and,
 * for Get-* names, to View-Only Organization Management only.
 */
export const CMDLETS_OF_GROUP: Record<Exclude<RoleGroup, "Organization Management">, ReadonlySet<string>> = {
  "View-Only Organization Management": new Set([...RECIPIENT_READS, ...CONFIG_READS]),
  "Recipient Management": new Set([...RECIPIENT_READS, ...CONFIG_READS, "set-mailbox"]),
  "Help Desk": new Set([...RECIPIENT_READS, "get-organizationconfig"]),
  "Compliance Management": new Set([...RECIPIENT_READS, ...CONFIG_READS]),
  "Security Administrator": new Set(CONFIG_READS),
  "Security Reader": new Set(CONFIG_READS),
};

/** Every cmdlet name the table above decides (others fall back to the rule in its comment). */
const TABULATED = new Set<string>([...RECIPIENT_READS, ...CONFIG_READS, "set-mailbox"]);

/** May a holder of this role group run the cmdlet? `Get-EXO*` names count as their classic cmdlet. */
export function groupAllows(group: RoleGroup, cmdletName: string): boolean {
  if (group === "Organization Management") return true;
  const name = cmdletName.toLowerCase().replace(/^get-exo/, "get-");
  if (TABULATED.has(name)) return CMDLETS_OF_GROUP[group].has(name);
  return group === "View-Only Organization Management" && name.startsWith("get-");
}

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

/** May this (already admitted) caller run this cmdlet? Any of its roles' groups may allow it. */
export function authorizeCmdlet(
  claims: AccessTokenClaims,
  cmdletName: string,
): AuthorizationFailure | undefined {
  const groups = (claims.wids ?? [])
    .map((id) => ROLE_GROUP_OF_ROLE[id.toLowerCase()])
    .filter((g): g is RoleGroup => g !== undefined);
  if (groups.some((g) => groupAllows(g, cmdletName))) return undefined;
  const message = `User is not allowed to call ${cmdletName}`;
  return { status: 403, body: plainError("Forbidden", message), headers: {} };
}
