import type { IncomingHttpHeaders } from "node:http";
import { DIRECTORY_ROLES, tokenRights } from "../auth/roles.js";
import { AuthorizationError, type ExoCbaError, ServerError } from "../errors.js";

/**
 * Exchange error envelopes (docs/exchange-rest.md §4) to typed errors carrying the cmdlet's own message.
 * `details[0].message` comes in three shapes (module JSON, GOEXO JSON, pre-piped text); then
 * `innererror.internalexception.message`, then `error.message` — the module's extraction order.
 */

const MODULE_FALLBACK =
  "A server side error has occurred because of which the operation could not be completed. Please try again after some time.";

export interface CmdletFailure {
  /** The message the PowerShell module would print. */
  message: string;
  /** Exception class, e.g. Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException */
  errorClass?: string;
  /** Exchange string id, e.g. Ex6F9304 */
  stringId?: string;
  /** OData `error.code` */
  code?: string;
}

interface ODataError {
  code?: string;
  message?: string;
  details?: Array<{ code?: unknown; target?: string; message?: string }>;
  innererror?: { message?: string; type?: string; internalexception?: { message?: string; type?: string } };
}

/** Read one `details[].message` in any of its three variants. */
export function parseDetailMessage(text: string): Omit<CmdletFailure, "code"> {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    try {
      const j = JSON.parse(trimmed) as {
        Message?: string;
        ClassName?: string;
        TypeName?: string;
        localizedString?: { stringId?: string };
      };
      const out: Omit<CmdletFailure, "code"> = { message: j.Message ?? trimmed };
      const cls = j.ClassName ?? j.TypeName;
      if (cls) out.errorClass = cls;
      if (j.localizedString?.stringId) out.stringId = j.localizedString.stringId;
      return out;
    } catch {
      // not JSON after all; fall through to the piped form
    }
  }
  const piped = trimmed.match(/^([^|\s]+)\|([\w.]+(?:Exception|Failure|Error))\|([\s\S]*)$/);
  if (piped) return { stringId: piped[1]!, errorClass: piped[2]!, message: piped[3]!.trim() };
  return { message: trimmed };
}

export function parseCmdletFailure(bodyText: string): CmdletFailure | undefined {
  let body: { error?: ODataError };
  try {
    body = JSON.parse(bodyText) as { error?: ODataError };
  } catch {
    return undefined;
  }
  const error = body?.error;
  if (!error || typeof error !== "object") return undefined;
  const detail = error.details?.[0]?.message;
  let failure: CmdletFailure;
  if (typeof detail === "string" && detail.trim() !== "") failure = parseDetailMessage(detail);
  else if (error.innererror?.internalexception?.message) {
    failure = { message: error.innererror.internalexception.message };
    if (error.innererror.internalexception.type) failure.errorClass = error.innererror.internalexception.type;
  } else if (error.message) failure = { message: error.message };
  else failure = { message: MODULE_FALLBACK };
  if (error.code) failure.code = error.code;
  return failure;
}

const header = (headers: IncomingHttpHeaders, name: string) => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export interface ErrorContext {
  status: number;
  headers: IncomingHttpHeaders;
  bodyText: string;
  cmdlet: string;
  /** The token that was refused, to explain a 401/403 from its claims. */
  token?: string;
  /** True when the token was already refreshed once for this request. */
  refreshed?: boolean;
}

const isWriteCmdlet = (cmdlet: string) => !/^(get|test|search|export)-/i.test(cmdlet);

/** Why a 401/403 happened, read from the refused token's `roles` and `wids` claims. */
export function explainAccessDenied(ctx: ErrorContext, serverMessage: string): AuthorizationError {
  const requestId = header(ctx.headers, "request-id");
  const diagnostics = header(ctx.headers, "x-ms-diagnostics");
  const base = `Exchange refused ${ctx.cmdlet} (HTTP ${ctx.status})${serverMessage ? `: ${serverMessage}` : ""}${
    diagnostics ? ` [${diagnostics}]` : ""
  }.`;
  const details: ConstructorParameters<typeof AuthorizationError>[1] = { httpStatus: ctx.status };
  if (requestId) details.requestId = requestId;
  const rights = ctx.token ? tokenRights(ctx.token) : undefined;
  if (rights?.readable && !rights.hasManageAsApp) {
    details.reason = "permission-missing";
    details.hint =
      "The app's token has no Exchange.ManageAsApp permission: add it (Office 365 Exchange Online → Exchange.ManageAsApp) and grant admin consent — `exo-cba setup` does both. If you just ran setup, wait a few minutes and try again.";
  } else if (rights?.readable && rights.exchangeRoles.length === 0) {
    details.reason = "role-missing";
    details.hint =
      "The app has no directory role Exchange accepts: assign one (e.g. Exchange Administrator, or Global Reader for read-only use) — `exo-cba setup --role` does it. If you just assigned it, wait a few minutes and try again.";
  } else if (rights?.readable && rights.readOnly && isWriteCmdlet(ctx.cmdlet)) {
    details.reason = "read-only-role";
    details.hint = `The app's role (${rights.exchangeRoles.join(", ")}) is read-only; ${ctx.cmdlet} needs a role that can change settings, such as Exchange Administrator.`;
  } else if (rights?.readable && /not allowed to call/i.test(serverMessage)) {
    // Exchange named the cmdlet: the role works, its role group just does not hold this cmdlet.
    const groups = rights.exchangeRoles.map((name) => {
      const role = DIRECTORY_ROLES.find((r) => r.displayName === name);
      return role ? `${name} → ${role.roleGroup}` : name;
    });
    details.reason = "cmdlet-not-in-role";
    details.hint = `The app's role (${groups.join(", ")}) does not include ${ctx.cmdlet}. Reports need Global Reader (\`exo-cba setup --role global-reader\`); recipient changes Exchange Recipient Administrator; see docs/exchange-rbac.md for which role runs which cmdlet.`;
  } else if (rights?.readable) {
    details.reason = "propagating";
    details.hint = `The token carries Exchange.ManageAsApp and the role ${rights.exchangeRoles.join(
      ", ",
    )}, so Exchange has probably not seen the grant yet: if you just ran setup, wait a few minutes (up to 30) and try again. If it persists, the role may not allow ${ctx.cmdlet}.`;
  } else {
    details.reason = "unknown";
    details.hint =
      "Check the app has the Exchange.ManageAsApp permission with admin consent and a supported directory role (`exo-cba doctor` checks each link).";
  }
  return new AuthorizationError(base, details);
}

/** Map a final (non-retried) failing InvokeCommand response to a typed error. */
export function exchangeErrorFromResponse(ctx: ErrorContext): ExoCbaError {
  const failure = parseCmdletFailure(ctx.bodyText);
  // A NUL-padded or empty 403 body carries nothing; keep the message empty then.
  const serverMessage = failure?.message ?? ctx.bodyText.replace(/\0/g, "").trim().slice(0, 300);
  if (ctx.status === 401 || ctx.status === 403) return explainAccessDenied(ctx, serverMessage);
  const requestId = header(ctx.headers, "request-id");
  if (ctx.status >= 300 && ctx.status < 400) {
    // A regional redirect: following it would hand the bearer token to another host, so we stop and say where.
    const location = header(ctx.headers, "location") ?? "(no Location header)";
    const details: ConstructorParameters<typeof ServerError>[1] = {
      httpStatus: ctx.status,
      cmdlet: ctx.cmdlet,
      hint: "If that host is genuinely Exchange Online for your tenant, set EXO_EXCHANGE_ENDPOINT to its https://host base and run again.",
    };
    if (requestId) details.requestId = requestId;
    return new ServerError(
      `Exchange redirected ${ctx.cmdlet} to ${location}; not following it with the access token.`,
      details,
    );
  }
  const details: ConstructorParameters<typeof ServerError>[1] = {
    httpStatus: ctx.status,
    cmdlet: ctx.cmdlet,
  };
  if (requestId) details.requestId = requestId;
  const errorClass = failure?.errorClass ?? header(ctx.headers, "x-exceptiontype");
  if (errorClass) details.errorClass = errorClass;
  const shortClass = errorClass?.split(".").pop();
  if (shortClass === "ManagementObjectNotFoundException" || ctx.status === 404) {
    details.hint =
      "Check the -Identity value (name, alias, e-mail address or GUID) and that the object exists.";
  } else if (ctx.status === 400) {
    details.hint = `Check the parameters of ${ctx.cmdlet} (names, values, and whether this cmdlet is available to app-only access).`;
  } else if (ctx.status >= 500) {
    details.hint = "The service failed; try again later. Quote the request id if you open a support case.";
  }
  const text = serverMessage || MODULE_FALLBACK;
  const prefix = failure?.stringId && shortClass ? `${failure.stringId}|${shortClass}|` : "";
  return new ServerError(`${ctx.cmdlet} failed: ${prefix}${text}`, details);
}

/**
 * Exchange exception names that mean "try again" even when they arrive in a 400/500 body
 * (the module's list plus the ones a production REST client retries on 400: docs/exchange-rest.md §5).
 */
export const TRANSIENT_EXCEPTION_NAMES = [
  "DCOverloadedException",
  "SuitabilityDirectoryException",
  "ServerInMMException",
  "ADServerSettingsChangedException",
  "StorageTransientException",
  "CmdletProxyNotAvailableFailure",
  "ServerBusyException",
  "TransientException",
  "BackendCommunicationException",
] as const;

/** The transient Exchange exception a response body names, if any (a classifier for `retryableResponse`). */
export function mentionsTransientException(text: string): string | undefined {
  return TRANSIENT_EXCEPTION_NAMES.find((name) => text.includes(name));
}
