import { decodeJwtClaims, stringArrayClaim } from "./jwt.js";

/** The app permission Exchange requires for app-only access. */
export const EXCHANGE_MANAGE_AS_APP = "Exchange.ManageAsApp";

/**
 * Directory roles Exchange Online accepts for app-only access (exo-rest.md §8.1), by template id, with
 * the Exchange role group each acts through (docs/exchange-rbac.md). `readsRecipients`: the group can
 * run Get-Mailbox / Get-MailboxStatistics / Get-Recipient, which every usage report needs.
 */
export const EXCHANGE_APP_ONLY_ROLES: Record<
  string,
  { name: string; readOnly: boolean; roleGroup: string; readsRecipients: boolean }
> = {
  "17315797-102d-40b4-93e0-432062caca18": {
    name: "Compliance Administrator",
    readOnly: false,
    roleGroup: "Compliance Management",
    readsRecipients: true,
  },
  "29232cdf-9323-42fd-ade2-1d097af3e4de": {
    name: "Exchange Administrator",
    readOnly: false,
    roleGroup: "Organization Management",
    readsRecipients: true,
  },
  "31392ffb-586c-42d1-9346-e59415a2cc4e": {
    name: "Exchange Recipient Administrator",
    readOnly: false,
    roleGroup: "Recipient Management",
    readsRecipients: true,
  },
  "62e90394-69f5-4237-9190-012177145e10": {
    name: "Global Administrator",
    readOnly: false,
    roleGroup: "Organization Management",
    readsRecipients: true,
  },
  "f2ef992c-3afb-46b9-b7cf-a126ee74c451": {
    name: "Global Reader",
    readOnly: true,
    roleGroup: "View-Only Organization Management",
    readsRecipients: true,
  },
  "729827e3-9c14-49f7-bb1b-9608f156bbb8": {
    name: "Helpdesk Administrator",
    readOnly: false,
    roleGroup: "Help Desk",
    readsRecipients: true,
  },
  "194ae4cb-b126-40b2-bd5b-6091b380977d": {
    name: "Security Administrator",
    readOnly: false,
    roleGroup: "Security Administrator",
    readsRecipients: false,
  },
  "5d6b6bb7-de71-4623-b4af-96380a352509": {
    name: "Security Reader",
    readOnly: true,
    roleGroup: "Security Reader",
    readsRecipients: false,
  },
};

/** What an (unverified) access token says about the app's rights. */
export interface TokenRights {
  appId?: string;
  tenantId?: string;
  audience?: string;
  roles: string[];
  /** directory role template ids */
  wids: string[];
  hasManageAsApp: boolean;
  /** names of the supported Exchange roles among `wids` */
  exchangeRoles: string[];
  /** true when every supported role in the token is read-only */
  readOnly: boolean;
  /** false when the token is not a JWT we can read */
  readable: boolean;
}

export function tokenRights(token: string): TokenRights {
  const claims = decodeJwtClaims(token);
  const roles = stringArrayClaim(claims, "roles");
  const wids = stringArrayClaim(claims, "wids");
  const supported = wids.map((w) => EXCHANGE_APP_ONLY_ROLES[w.toLowerCase()]).filter((r) => r !== undefined);
  const rights: TokenRights = {
    roles,
    wids,
    hasManageAsApp: roles.includes(EXCHANGE_MANAGE_AS_APP),
    exchangeRoles: supported.map((r) => r.name),
    readOnly: supported.length > 0 && supported.every((r) => r.readOnly),
    readable: claims !== undefined,
  };
  if (typeof claims?.appid === "string") rights.appId = claims.appid;
  else if (typeof claims?.azp === "string") rights.appId = claims.azp;
  if (typeof claims?.tid === "string") rights.tenantId = claims.tid;
  if (typeof claims?.aud === "string") rights.audience = claims.aud;
  return rights;
}
