import { randomUUID } from "node:crypto";
import type { TokenProvider } from "../auth/types.js";
import { PartialResultError, ServerError, UsageError } from "../errors.js";
import type { CircuitBreaker } from "../http/circuit-breaker.js";
import { RetryableError, type RetryOptions, retryableResponse, withRetry } from "../http/retry.js";
import { linkSignals } from "../http/signals.js";
import type { HttpTransport } from "../http/transport.js";
import { exchangeErrorFromResponse, mentionsTransientException } from "./errors.js";
import { selectProperties, translateExoCmdlet } from "./exo-cmdlets.js";
import { invokeHeaders } from "./headers.js";
import { normalizeRow } from "./normalize.js";
import { type CmdletParameters, invokeCommandBody, parseResultSize } from "./serialize.js";

export const MAX_PAGE_SIZE = 1000;
/**
 * Most pages one call follows (docs/invoke.md "Limits"): 100,000 full pages are 100 million rows, far beyond
 * any tenant, while a server that hands out fresh nextLinks forever is stopped.
 */
export const DEFAULT_MAX_PAGES = 100_000;
/** Empty pages in a row that still carry a nextLink before the paging is called broken. */
export const MAX_EMPTY_PAGES_IN_A_ROW = 100;

/** Server warning on a truncated page that we are about to follow anyway (the module hides it too). */
const MORE_RESULTS_WARNING = /There are more results available than are currently displayed/i;

export interface InvokeOptions {
  /** Keep the wire form (annotations, size strings) instead of normalised rows. */
  raw?: boolean;
  /** `@adminapi.warnings` of every page. */
  onWarning?: (message: string) => void;
  /**
   * Non-terminating cmdlet errors (`@adminapi.errors` inside a 200). Without this callback they are
   * raised when the stream ends: PartialResultError if rows came back, ServerError otherwise.
   */
  onError?: (message: string) => void;
  /** Rows per page, 1–1000 (default 1000, the module's PageSize). */
  pageSize?: number;
  signal?: AbortSignal;
}

export interface ExchangeStats {
  /** token acquisitions that went to the identity platform */
  tokenRequests: number;
  /** HTTP requests sent to Exchange (pages and retries) */
  requests: number;
  retries: number;
}

/**
 * What one cmdlet call cost and how it ended, reported once when it ends (all pages read, an error, or the
 * caller stopped reading). For observers such as structured logs: the client itself never logs.
 */
export interface CmdletCallInfo {
  cmdlet: string;
  /** "error" when the call threw or Exchange reported non-terminating errors (`cmdletErrors` > 0) */
  status: "ok" | "error";
  /** false when not every page was read: an error, or the caller stopped reading early */
  complete: boolean;
  durationMs: number;
  /** rows delivered to the caller */
  rows: number;
  /** pages received */
  pages: number;
  /** HTTP requests of this call (pages and retries) */
  requests: number;
  /** retries of this call (throttling, transient faults, a refreshed token) */
  retries: number;
  /** token acquisitions from the identity platform so far on this connection */
  tokenRequests: number;
  /** the call's `client-request-id` (the same on every page and retry) */
  clientRequestId: string;
  connectionId: string;
  /** the last few `request-id` response headers, oldest first (what Microsoft support asks for) */
  requestIds: string[];
  /** `@adminapi.errors` messages the call reported */
  cmdletErrors: number;
  /** the typed error when the call threw */
  error?: unknown;
}

/** How many `request-id`s a call keeps for its report (the last ones: a 100-page listing keeps 5). */
export const MAX_REPORTED_REQUEST_IDS = 5;

export interface ExchangeClientOptions {
  /** `https://host[:port]` of Exchange Online. */
  exchangeEndpoint: string;
  /**
   * May a 301/302/307/308 of InvokeCommand be followed (body and bearer token re-sent) to this URL?
   * Default: https to the endpoint's own host name only. The connection passes the cloud's rule
   * (src/cloud/environments.ts isExchangeRedirectAllowed). The token's scope never changes.
   */
  isRedirectAllowed?: (target: URL) => boolean;
  organization: string;
  tokenProvider: TokenProvider;
  transport: HttpTransport;
  retry?: RetryOptions;
  /** The connection's GUID (sent as `connection-id`); a new one by default. */
  connectionId?: string;
  /** Counters shared with the connection. */
  stats?: ExchangeStats;
  /**
   * Told once per cmdlet call when it ends (never for a call refused before any request, e.g. a bad cmdlet
   * name). An exception it throws is ignored: observing a call never changes its outcome.
   */
  onCallEnd?: (info: CmdletCallInfo) => void;
  /** Idle timeout of one request in ms (transport default: 16 min). */
  timeoutMs?: number;
  /** Most pages one call follows (default DEFAULT_MAX_PAGES). */
  maxPages?: number;
  /** Largest body of one page (transport default: 100 MiB). */
  maxResponseBytes?: number;
  /** A run-wide circuit breaker: stops every call once the endpoint is unreachable (a report shares one). */
  breaker?: CircuitBreaker;
}

/** Per-call counters, filled in by fetchPage. */
interface CallCounters {
  requests: number;
  retries: number;
  pages: number;
  requestIds: string[];
}

const CMDLET_NAME = /^[A-Za-z]+-[A-Za-z0-9]+$/;

export function validateCmdletName(cmdlet: string): string {
  if (!CMDLET_NAME.test(cmdlet)) {
    throw new UsageError(`'${cmdlet}' is not a cmdlet name.`, {
      hint: "Cmdlet names have the form Verb-Noun, e.g. Get-Mailbox or Set-OrganizationConfig.",
    });
  }
  return cmdlet;
}

interface Page {
  value: Record<string, unknown>[];
  "@odata.nextLink"?: unknown;
  "@adminapi.warnings"?: unknown;
  "@adminapi.errors"?: unknown;
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.map((x) => (typeof x === "string" ? x : JSON.stringify(x))) : [];

/**
 * The Exchange Online REST client: InvokeCommand for any cmdlet, following `@odata.nextLink` pages on the
 * same origin only. At most two pages are in memory whatever the row count; a retried page re-sends the
 * same request (same URL, body and client-request-id), so rows are neither lost nor duplicated.
 */
export class ExchangeClient {
  readonly connectionId: string;
  readonly stats: ExchangeStats;
  private origin: string;
  /** Origins whose nextLinks carry the token: the endpoint's, and a regional host it redirected to. */
  private readonly origins = new Set<string>();
  private invokeUrl: string;

  constructor(private readonly options: ExchangeClientOptions) {
    const base = new URL(options.exchangeEndpoint);
    this.origin = base.origin;
    this.invokeUrl = `${this.origin}/adminapi/beta/${encodeURIComponent(options.organization)}/InvokeCommand`;
    this.origins.add(this.origin);
    this.connectionId = options.connectionId ?? randomUUID();
    this.stats = options.stats ?? { tokenRequests: 0, requests: 0, retries: 0 };
  }

  async *stream(
    cmdlet: string,
    params: CmdletParameters = {},
    options: InvokeOptions = {},
  ): AsyncGenerator<Record<string, unknown>, void, undefined> {
    validateCmdletName(cmdlet);
    // Get-EXO* names are the module's client-side cmdlets: send the classic one, select properties here.
    const exo = translateExoCmdlet(cmdlet, params);
    if (exo) ({ cmdlet, params } = exo);
    const select = exo?.select;
    const resultSizeKey = Object.keys(params).find((k) => k.toLowerCase() === "resultsize");
    const resultSize = resultSizeKey ? parseResultSize(params[resultSizeKey]) : undefined;
    if (resultSizeKey && resultSize === undefined) {
      throw new UsageError(`-ResultSize must be a positive whole number or Unlimited.`);
    }
    const pageLimit = Math.min(Math.max(1, Math.floor(options.pageSize ?? MAX_PAGE_SIZE)), MAX_PAGE_SIZE);
    const body = invokeCommandBody(cmdlet, params);
    const clientRequestId = randomUUID();
    const cmdletErrors: string[] = [];
    let url = this.invokeUrl;
    let delivered = 0;
    let reportedErrors = 0;
    const now = this.options.retry?.now ?? Date.now;
    const started = now();
    const counters: CallCounters = { requests: 0, retries: 0, pages: 0, requestIds: [] };
    // "stopped" until the last page is read or an error is thrown: then the caller ended the loop early.
    let outcome: "ok" | "error" | "stopped" = "stopped";
    let failure: unknown;

    // One page of lookahead: the next page is requested before this one's rows are handed out, so the
    // server works while the caller consumes. At most two pages are ever held, whatever the row count.
    // When the caller stops early, the lookahead in flight is aborted. Only a lookahead can be in flight
    // then (the caller is waiting while any other page is fetched), so its controller is made on the first
    // one: a one-page answer, such as each statistics call of a report, makes and aborts none (an abort
    // builds a DOMException; per call, that was a large share of a report's promoted garbage).
    let lookahead: AbortController | undefined;
    let aheadInFlight = false;
    const onOuterAbort = () => lookahead?.abort(options.signal?.reason);
    const lookaheadSignal = (): AbortSignal => {
      if (!lookahead) {
        lookahead = new AbortController();
        if (options.signal?.aborted) lookahead.abort(options.signal.reason);
        else options.signal?.addEventListener("abort", onOuterAbort, { once: true });
      }
      return lookahead.signal;
    };
    const request = (pageUrl: string, wanted: number, ahead: boolean) => {
      const pending = this.fetchPage(
        pageUrl,
        body,
        cmdlet,
        clientRequestId,
        wanted,
        ahead ? lookaheadSignal() : options.signal,
        counters,
      );
      pending.catch(() => undefined); // surfaced when awaited; never an unhandled rejection meanwhile
      return pending;
    };

    // Paging that never ends is the server's fault: a link seen before, a run of empty pages that keep
    // pointing further, or more pages than any tenant has (docs/invoke.md "Limits").
    const seenLinks = new Set<string>([url]);
    const maxPages = this.options.maxPages ?? DEFAULT_MAX_PAGES;
    let pagesRead = 0;
    let emptyInARow = 0;
    const brokenPaging = (why: string) =>
      new ServerError(
        `${cmdlet}: the server's paging is broken (${why}); stopped after ${pagesRead} page(s).`,
        {
          cmdlet,
          hint: "This is a fault of the endpoint, not of the command: check EXO_EXCHANGE_ENDPOINT, or retry later.",
        },
      );
    try {
      let wanted = resultSize === undefined ? pageLimit : Math.min(pageLimit, resultSize);
      let pending = request(url, wanted, false);
      for (;;) {
        const page = await pending;
        aheadInFlight = false;
        pagesRead++;
        const rows = page.value;
        const next = typeof page["@odata.nextLink"] === "string" ? page["@odata.nextLink"] : undefined;
        const reachedLimit = resultSize !== undefined && delivered + rows.length >= resultSize;
        // The module's stop rule: with a numeric ResultSize continue only after a full page.
        const fullPage = rows.length >= wanted;
        const willFollow =
          next !== undefined &&
          !reachedLimit &&
          (resultSize === undefined || resultSize === Infinity || fullPage);

        let following: Promise<Page> | undefined;
        let refusedLink: unknown;
        if (willFollow && next !== undefined) {
          try {
            emptyInARow = rows.length === 0 ? emptyInARow + 1 : 0;
            const nextUrl = this.sameOriginNextLink(next, url);
            if (seenLinks.has(nextUrl)) throw brokenPaging("an @odata.nextLink repeats an earlier page");
            if (pagesRead >= maxPages) throw brokenPaging(`more than ${maxPages} pages`);
            if (emptyInARow >= MAX_EMPTY_PAGES_IN_A_ROW) {
              throw brokenPaging(`${emptyInARow} empty pages in a row, each with another @odata.nextLink`);
            }
            seenLinks.add(nextUrl);
            url = nextUrl;
            wanted =
              resultSize === undefined
                ? pageLimit
                : Math.min(pageLimit, resultSize - delivered - rows.length);
            following = request(url, wanted, true);
            aheadInFlight = true;
          } catch (error) {
            refusedLink = error; // thrown after this page's rows, which are good
          }
        }

        for (const warning of strings(page["@adminapi.warnings"])) {
          if (willFollow && MORE_RESULTS_WARNING.test(warning)) continue;
          options.onWarning?.(warning);
        }
        for (const message of strings(page["@adminapi.errors"])) {
          reportedErrors++;
          if (options.onError) options.onError(message);
          else cmdletErrors.push(message);
        }
        for (let i = 0; i < rows.length; i++) {
          if (resultSize !== undefined && delivered >= resultSize) break;
          const row = rows[i] as Record<string, unknown>;
          // Let go of each row as it is handed out. Rows a page still references after two young-generation
          // collections are promoted to the old generation and pile up there as garbage until a full one:
          // measured over 300,000 normalised rows, ~800 MB promoted before, ~25 MB after, and peak RSS
          // ~197 MB before, ~149 MB after (docs/architecture.md "Memory").
          (rows as unknown[])[i] = undefined;
          delivered++;
          const shaped = select ? selectProperties(row, select) : row;
          yield options.raw ? shaped : normalizeRow(shaped);
        }
        if (refusedLink) throw refusedLink;
        if (!following) break;
        pending = following;
      }

      if (cmdletErrors.length > 0) {
        const summary = `${cmdlet} reported ${cmdletErrors.length} error(s): ${cmdletErrors.slice(0, 3).join(" | ")}`;
        if (delivered > 0) throw new PartialResultError(`${summary} (after returning ${delivered} row(s))`);
        throw new ServerError(summary, { cmdlet });
      }
      outcome = "ok";
    } catch (error) {
      outcome = "error";
      failure = error;
      throw error;
    } finally {
      if (lookahead) options.signal?.removeEventListener("abort", onOuterAbort);
      if (aheadInFlight) lookahead?.abort(); // the caller stopped while the next page was on its way
      const onCallEnd = this.options.onCallEnd;
      if (onCallEnd) {
        const info: CmdletCallInfo = {
          cmdlet,
          status: outcome === "error" || reportedErrors > 0 ? "error" : "ok",
          complete: outcome === "ok",
          durationMs: now() - started,
          rows: delivered,
          pages: counters.pages,
          requests: counters.requests,
          retries: counters.retries,
          tokenRequests: this.stats.tokenRequests,
          clientRequestId,
          connectionId: this.connectionId,
          requestIds: counters.requestIds,
          cmdletErrors: reportedErrors,
        };
        if (outcome === "error") info.error = failure;
        try {
          onCallEnd(info);
        } catch {
          // An observer's failure (a log sink gone) must not turn a good call into a failed one.
        }
      }
    }
  }

  async invoke(
    cmdlet: string,
    params: CmdletParameters = {},
    options: InvokeOptions = {},
  ): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    for await (const row of this.stream(cmdlet, params, options)) rows.push(row);
    return rows;
  }

  /** The bearer token only ever goes to the Exchange origin: a nextLink elsewhere is refused. */
  private sameOriginNextLink(next: string, current: string): string {
    let target: URL;
    try {
      target = new URL(next, current);
    } catch {
      throw new ServerError(`The server returned an unreadable @odata.nextLink: ${next.slice(0, 200)}`);
    }
    if (!this.origins.has(target.origin)) {
      throw new ServerError(
        `Refusing to follow @odata.nextLink to ${target.origin}: it is not the Exchange endpoint ${this.origin}, and the access token must not be sent there.`,
        {
          hint: "If you use a proxy or custom endpoint, set EXO_EXCHANGE_ENDPOINT to the origin the service uses.",
        },
      );
    }
    return target.toString();
  }

  /** The absolute URL of a redirect we may follow with the token, or undefined (then it is an error). */
  private followableRedirect(
    status: number,
    location: string | undefined,
    current: string,
    redirects: number,
  ): string | undefined {
    if (!REDIRECT_STATUSES.has(status) || !location || redirects >= MAX_REDIRECTS) return undefined;
    let target: URL;
    try {
      target = new URL(location, current);
    } catch {
      return undefined;
    }
    const own = new URL(this.options.exchangeEndpoint).hostname;
    const allowed = this.options.isRedirectAllowed
      ? this.options.isRedirectAllowed(target)
      : target.protocol === "https:" && target.hostname === own;
    return allowed ? target.toString() : undefined;
  }

  /** One page under the caller's signal and the run's breaker, linked for as long as the page takes. */
  private async fetchPage(
    url: string,
    body: string,
    cmdlet: string,
    clientRequestId: string,
    pageSize: number,
    signal: AbortSignal | undefined,
    call: CallCounters,
  ): Promise<Page> {
    const linked = linkSignals([signal, this.options.breaker?.signal]);
    try {
      return await this.postPage(url, body, cmdlet, clientRequestId, pageSize, linked.signal, call);
    } finally {
      linked.release();
    }
  }

  /**
   * POST one page, with retries. A 401 or 403 gets one fresh token and an immediate second try outside the
   * retry budget, so even a caller allowing a single attempt gets the refusal diagnosed, not "gave up".
   * The 403 matters as much as the 401: Exchange configures a session's RBAC from the roles in the token,
   * so a token minted before a role reached Exchange stays refused for its whole lifetime while a new one
   * works (docs/setup.md "Verification while roles propagate").
   */
  private async postPage(
    url: string,
    body: string,
    cmdlet: string,
    clientRequestId: string,
    pageSize: number,
    combined: AbortSignal | undefined,
    call: CallCounters,
  ): Promise<Page> {
    const retry: RetryOptions = {
      ...this.options.retry,
      onRetry: (info) => {
        this.stats.retries++;
        call.retries++;
        this.options.retry?.onRetry?.(info);
      },
    };
    const breaker = this.options.breaker;
    if (combined) retry.signal = combined;
    const now = this.options.retry?.now ?? Date.now;
    let refreshed = false;
    let redirects = 0;
    for (;;) {
      const forceRefresh = refreshed;
      let firstAttempt = true;
      try {
        return await withRetry(async () => {
          const refresh = forceRefresh && firstAttempt;
          firstAttempt = false;
          const { token } = await this.options.tokenProvider.getToken(refresh ? { forceRefresh: true } : {});
          const headers = invokeHeaders({
            token,
            cmdlet,
            clientRequestId,
            connectionId: this.connectionId,
            pageSize,
            organization: this.options.organization,
          });
          breaker?.check();
          this.stats.requests++;
          call.requests++;
          const req: Parameters<HttpTransport["request"]>[0] = { method: "POST", url, headers, body };
          if (combined) req.signal = combined;
          if (this.options.timeoutMs !== undefined) req.timeoutMs = this.options.timeoutMs;
          if (this.options.maxResponseBytes !== undefined)
            req.maxResponseBytes = this.options.maxResponseBytes;
          let res: Awaited<ReturnType<HttpTransport["request"]>>;
          let text: string;
          try {
            res = await this.options.transport.request(req);
            noteRequestId(call.requestIds, res.headers["request-id"]);
            text = await res.text();
          } catch (error) {
            breaker?.failure(error);
            // Aborted because the breaker opened: say why, not "the operation was aborted".
            breaker?.check();
            throw error;
          }
          breaker?.success();
          if (res.status >= 200 && res.status < 300) {
            const page = readEnvelope(text, res.headers["content-type"], res.status);
            call.pages++;
            return page;
          }
          if ((res.status === 401 || res.status === 403) && !refreshed) throw new TokenRefused(res.status);
          const location = this.followableRedirect(res.status, res.headers.location, url, redirects);
          if (location) throw new Redirected(location);
          const retryable = retryableResponse(
            res.status,
            res.headers,
            text,
            now(),
            mentionsTransientException,
          );
          if (retryable) throw retryable;
          throw exchangeErrorFromResponse({
            status: res.status,
            headers: res.headers,
            bodyText: text,
            cmdlet,
            token,
            refreshed,
          });
        }, retry);
      } catch (error) {
        if (error instanceof Redirected) {
          // A regional redirect (docs/invoke.md): same body, a token for the same resource, new host.
          redirects++;
          if (url === this.invokeUrl) {
            this.invokeUrl = error.location;
            this.origin = new URL(error.location).origin;
            this.origins.add(this.origin);
          }
          url = error.location;
          continue;
        }
        if (!(error instanceof TokenRefused)) throw error;
        refreshed = true;
        this.stats.retries++;
        call.retries++;
      }
    }
  }
}

const PROTOCOL_HINT =
  "The endpoint did not answer like Exchange Online (a proxy, a captive portal or an outage page?): check EXO_EXCHANGE_ENDPOINT and the network, then run again.";

/**
 * A 2xx body must be the documented InvokeCommand envelope (docs/invoke.md "How it behaves on the wire"):
 * a JSON object with a `value` array. Anything else is a protocol error, retried like a transient fault and
 * never read as "no rows": an empty answer taken for zero mailboxes would make a report look complete.
 */
function readEnvelope(text: string, contentType: string | string[] | undefined, status: number): Page {
  const protocolError = (what: string, cause?: unknown) =>
    new RetryableError(`protocol error: the HTTP ${status} answer ${what}`, {
      httpStatus: status,
      hint: PROTOCOL_HINT,
      ...(cause === undefined ? {} : { cause }),
    });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const type = (Array.isArray(contentType) ? contentType[0] : contentType) ?? "none";
    if (/json/i.test(type) && !text.trimStart().startsWith("<")) {
      // A JSON body that broke off mid-way: the connection dropped; ask for the same page again.
      throw new RetryableError("incomplete response body", { httpStatus: status, cause: error });
    }
    throw protocolError(
      `is not JSON (content-type ${type.slice(0, 60)}: ${JSON.stringify(text.slice(0, 60))})`,
      error,
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw protocolError("is not a JSON object");
  }
  const page = parsed as Record<string, unknown>;
  if (!("value" in page)) throw protocolError("has no `value` (not the InvokeCommand envelope)");
  if (!Array.isArray(page.value)) throw protocolError("has a `value` that is not an array");
  const next = page["@odata.nextLink"];
  if (next !== undefined && next !== null && typeof next !== "string") {
    throw protocolError("has an @odata.nextLink that is not a string");
  }
  return page as unknown as Page;
}

const REDIRECT_STATUSES = new Set([301, 302, 307, 308]);
const MAX_REDIRECTS = 5;

/** A redirect we may follow with the token: the new URL is sent the same POST. */
class Redirected extends Error {
  constructor(readonly location: string) {
    super(`redirected to ${new URL(location).origin}`);
  }
}

/** Keep the last MAX_REPORTED_REQUEST_IDS `request-id` headers (a retried page's ids all count). */
function noteRequestId(ids: string[], header: string | string[] | undefined): void {
  const id = Array.isArray(header) ? header[0] : header;
  if (!id) return;
  ids.push(id);
  if (ids.length > MAX_REPORTED_REQUEST_IDS) ids.shift();
}

/** A 401/403 on a token not yet refreshed: the caller refreshes it once and sends the same page again. */
class TokenRefused extends Error {
  constructor(status: number) {
    super(`token refused (HTTP ${status})`);
  }
}
