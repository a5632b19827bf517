import { readFileSync } from "node:fs";
import { isGuid } from "../config/validate.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};
export const CLIENT_VERSION = pkg.version;
export const USER_AGENT = `exo-cba/${CLIENT_VERSION}`;

/** The system mailbox every app-only client anchors on (docs/exchange-rest.md §2). */
const SYSTEM_MAILBOX = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}";

/**
 * App-only routing hint. The module's own value is computed in compiled code, so we pick from the forms
 * working clients use: with a domain, `UPN:SystemMailbox{…}@<domain>` — the form of the only captured
 * real request that got a 200 (also ScubaGear, M365Permissions); with a tenant GUID, where no UPN exists,
 * `APP:SystemMailbox{…}@<tenant id>` as CIPP sends in production across many tenants.
 */
export function anchorMailbox(organization: string): string {
  return isGuid(organization)
    ? `APP:${SYSTEM_MAILBOX}@${organization}`
    : `UPN:${SYSTEM_MAILBOX}@${organization}`;
}

export interface InvokeHeaderInput {
  token: string;
  cmdlet: string;
  /** One GUID per cmdlet invocation: the same on every page and retry. */
  clientRequestId: string;
  /** One GUID per connection. */
  connectionId: string;
  pageSize: number;
  organization: string;
}

/** The header set of the module's Execute-Command (§2.2), with `X-ResponseFormat: json`. */
export function invokeHeaders(input: InvokeHeaderInput): Record<string, string> {
  return {
    Authorization: `Bearer ${input.token}`,
    Accept: "application/json",
    "Accept-Charset": "UTF-8",
    "Content-Type": "application/json",
    "X-CmdletName": input.cmdlet,
    "client-request-id": input.clientRequestId,
    "connection-id": input.connectionId,
    Prefer: `odata.maxpagesize=${input.pageSize}`,
    "X-AnchorMailbox": anchorMailbox(input.organization),
    "X-ResponseFormat": "json",
    "X-SerializationLevel": "Partial",
    "X-ClientApplication": "ExoManagementModule",
    WarningAction: "",
    "User-Agent": USER_AGENT,
  };
}
