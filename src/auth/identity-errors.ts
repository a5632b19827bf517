import { AuthenticationError, type ExoCbaError } from "../errors.js";
import { RetryableError } from "../http/retry.js";

/**
 * Turn identity-platform failures into errors a user can act on: the AADSTS code, the correlation id
 * and a fix hint per code. MSAL reports an unknown tenant only as "endpoints_resolution_error", so the
 * network observer below keeps the discovery response to recover AADSTS90002 from it.
 */

/**
 * AADSTS codes that mean "written a moment ago, not replicated to the token service yet" right after a
 * write: 700016 the app, 7000229 its service principal, 700027 a newly added key (docs/setup.md
 * "Verification while roles propagate"). Outside such a wait they are real errors.
 */
export const PROPAGATING_AADSTS: readonly number[] = [700016, 7000229, 700027];

const HINTS: Record<number, string> = {
  700027:
    "The certificate that signed the request is not registered on the app (or the key does not match it). " +
    "Upload its public .cer to the app registration (`exo-cba setup` does it), or connect with the thumbprint of a registered certificate; if the registered one expired, rotate it (`exo-cba cert rotate`).",
  700016:
    "No app with this app id exists in this tenant. Check --app-id (the Application (client) ID) and --organization (the tenant the app was registered in); if you just created the app, wait a minute for it to replicate and try again.",
  7000229:
    "The app has no service principal (enterprise application) in this tenant. `exo-cba setup` creates it; if you just created it, wait a minute for it to replicate and try again.",
  90002:
    "This tenant does not exist. Check --organization (use the primary *.onmicrosoft.com domain or the tenant id) and --exchange-environment (GCC High, DoD and China are separate clouds).",
  700024:
    "The client assertion is outside its valid time range: this machine's clock is probably wrong. Synchronise it (NTP) and try again.",
  7000215:
    "A client secret was rejected. exo-cba authenticates with certificates; remove the secret from the configuration and pass a certificate.",
  7000218:
    "The request carried no client credential. Pass a certificate (--certificate-thumbprint or --certificate-file-path).",
  7000274:
    "The certificate was refused as invalid. Check it is the one registered on the app and has not expired.",
  7000214: "The certificate has been revoked. Create a new one and register it (`exo-cba cert rotate`).",
  7000277: "The certificate has been revoked. Create a new one and register it (`exo-cba cert rotate`).",
  1000502: "The certificate is outside its validity period. Rotate it (`exo-cba cert rotate`).",
  50027:
    "The client assertion was malformed. Make sure the private key matches the certificate and the certificate is RSA 2048 bits or more.",
  50049:
    "The authority host is not a known identity endpoint. Check EXO_AUTHORITY_HOST / --exchange-environment.",
  53003:
    "Conditional Access blocked the app. Exclude this workload identity from the policy or allow its location.",
  70011: "The scope was refused. Check EXO_EXCHANGE_ENDPOINT / --exchange-environment.",
  500011:
    "Exchange Online is not provisioned in this tenant (its service principal is missing). Check the tenant has an Exchange Online licence and the right --exchange-environment.",
  7000112: "The application is disabled in this tenant. Re-enable the enterprise application in Entra ID.",
  700023: "The app is not allowed to request tokens from this tenant. Check --organization.",
};

export function hintForAadsts(code: number | undefined): string | undefined {
  return code === undefined ? undefined : HINTS[code];
}

/** What the last failing identity exchange looked like (for errors MSAL swallows). */
export interface IdentityFailure {
  url: string;
  status?: number;
  body?: unknown;
  error?: unknown;
  retryAfterMs?: number;
}

/** Remembers the last failing request MSAL made through our network client. */
export class IdentityNetworkObserver {
  lastFailure: IdentityFailure | undefined;
  tokenRequests = 0;
  /** Every URL MSAL asked for (tests assert no request leaves the configured hosts). */
  readonly urls: string[] = [];
}

interface OAuthErrorBody {
  error?: string;
  error_description?: string;
  error_codes?: number[];
  correlation_id?: string;
  trace_id?: string;
}

const AADSTS = /AADSTS(\d+)/;

/** First line of an AADSTS description (the rest is trace/correlation ids we show separately). */
function firstLine(text: string): string {
  return text.split(/\r?\n/)[0]?.trim() ?? text;
}

export function authenticationErrorFromBody(
  body: OAuthErrorBody,
  status: number | undefined,
  fallback: string,
): AuthenticationError {
  const codeFromList = body.error_codes?.[0];
  const codeFromText = body.error_description?.match(AADSTS)?.[1];
  const code = codeFromList ?? (codeFromText ? Number(codeFromText) : undefined);
  const description = body.error_description ? firstLine(body.error_description) : fallback;
  const message =
    code !== undefined && !description.includes(`AADSTS${code}`)
      ? `AADSTS${code}: ${description}`
      : description;
  const details: ConstructorParameters<typeof AuthenticationError>[1] = {};
  if (code !== undefined) details.aadstsCode = code;
  if (body.error) details.oauthError = body.error;
  if (body.correlation_id) details.correlationId = body.correlation_id;
  const requestId = body.trace_id ?? body.correlation_id;
  if (requestId) details.requestId = requestId;
  if (status !== undefined) details.httpStatus = status;
  const hint = hintForAadsts(code);
  if (hint) details.hint = hint;
  return new AuthenticationError(`The identity platform refused the token request: ${message}`, details);
}

interface MsalLikeError {
  errorCode?: string;
  errorMessage?: string;
  errorNo?: string | number;
  status?: number;
  correlationId?: string;
  message?: string;
}

/**
 * Map an MSAL error (plus what the observer saw) to an ExoCbaError, or to a RetryableError when the
 * failure was the network or a busy identity service (the caller's retry loop decides when to stop).
 */
export function mapIdentityError(
  error: unknown,
  observer: IdentityNetworkObserver | undefined,
  authorityHost: string,
): ExoCbaError | RetryableError {
  const e = (error ?? {}) as MsalLikeError;
  const failure = observer?.lastFailure;

  // Throttled or unavailable identity service: worth another try, after its Retry-After if it gave one.
  if (failure?.status !== undefined && (failure.status === 429 || failure.status >= 500)) {
    const details: ConstructorParameters<typeof RetryableError>[1] = { httpStatus: failure.status };
    if (failure.retryAfterMs !== undefined) details.retryAfterMs = failure.retryAfterMs;
    return new RetryableError(`the identity endpoint answered HTTP ${failure.status}`, details);
  }
  // A network failure under MSAL (reset, refused, DNS) — MSAL only says "network_error".
  if (failure?.error !== undefined) {
    const cause = failure.error as { code?: string; message?: string };
    return new RetryableError(
      `cannot reach the identity endpoint ${new URL(failure.url).origin} (${cause.code ?? cause.message ?? "network error"})`,
      { cause: failure.error },
    );
  }
  // The discovery document was refused (unknown tenant → AADSTS90002): MSAL hides this behind
  // endpoints_resolution_error, the body still has the real answer.
  if (failure?.body && typeof failure.body === "object" && (failure.body as OAuthErrorBody).error) {
    return authenticationErrorFromBody(
      failure.body as OAuthErrorBody,
      failure.status,
      "token request refused",
    );
  }
  if (e.errorCode === "endpoints_resolution_error") {
    return new AuthenticationError(
      `Could not read the identity configuration of ${authorityHost} for this organization.`,
      { hint: hintForAadsts(90002) ?? "" },
    );
  }
  const text = e.errorMessage ?? e.message ?? String(error);
  const code = e.errorNo !== undefined ? Number(e.errorNo) : Number(text.match(AADSTS)?.[1] ?? Number.NaN);
  const description = text.match(/Description: (.*?)(?: - Correlation ID|$)/s)?.[1] ?? text;
  const body: OAuthErrorBody = { error_description: description };
  if (Number.isFinite(code)) body.error_codes = [code];
  if (e.errorCode) body.error = e.errorCode;
  if (e.correlationId) body.correlation_id = e.correlationId;
  return authenticationErrorFromBody(body, e.status, text);
}
