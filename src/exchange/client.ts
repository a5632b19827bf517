import { randomUUID } from "node:crypto";
import type { TokenProvider } from "../auth/types.js";
import { PartialResultError, ServerError, UsageError } from "../errors.js";
import { RetryableError, type RetryOptions, retryableResponse, withRetry } from "../http/retry.js";
import type { HttpTransport } from "../http/transport.js";
import { exchangeErrorFromResponse } from "./errors.js";
import { invokeHeaders } from "./headers.js";
import { normalizeRow } from "./normalize.js";
import { type CmdletParameters, invokeCommandBody, parseResultSize } from "./serialize.js";

export const MAX_PAGE_SIZE = 1000;

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

export interface ExchangeClientOptions {
  /** `https://host[:port]` of Exchange Online. */
  exchangeEndpoint: string;
  organization: string;
  tokenProvider: TokenProvider;
  transport: HttpTransport;
  retry?: RetryOptions;
  /** The connection's GUID (sent as `connection-id`); a new one by default. */
  connectionId?: string;
  /** Counters shared with the connection. */
  stats?: ExchangeStats;
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
  value?: unknown;
  "@odata.nextLink"?: unknown;
  "@adminapi.warnings"?: unknown;
  "@adminapi.errors"?: unknown;
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.map((x) => (typeof x === "string" ? x : JSON.stringify(x))) : [];

/**
 * The Exchange Online REST client: InvokeCommand for any cmdlet, following `@odata.nextLink` pages on the
 * same origin only. One page is in memory at a time whatever the row count; a retried page re-sends the
 * same request (same URL, body and client-request-id), so rows are neither lost nor duplicated.
 */
export class ExchangeClient {
  readonly connectionId: string;
  readonly stats: ExchangeStats;
  private readonly origin: string;
  private readonly invokeUrl: string;

  constructor(private readonly options: ExchangeClientOptions) {
    const base = new URL(options.exchangeEndpoint);
    this.origin = base.origin;
    this.invokeUrl = `${this.origin}/adminapi/beta/${encodeURIComponent(options.organization)}/InvokeCommand`;
    this.connectionId = options.connectionId ?? randomUUID();
    this.stats = options.stats ?? { tokenRequests: 0, requests: 0, retries: 0 };
  }

  async *stream(
    cmdlet: string,
    params: CmdletParameters = {},
    options: InvokeOptions = {},
  ): AsyncGenerator<Record<string, unknown>, void, undefined> {
    validateCmdletName(cmdlet);
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

    for (;;) {
      const wanted = resultSize === undefined ? pageLimit : Math.min(pageLimit, resultSize - delivered);
      const page = await this.fetchPage(url, body, cmdlet, clientRequestId, wanted, options.signal);
      const rows = Array.isArray(page.value) ? (page.value as Record<string, unknown>[]) : [];
      const next = typeof page["@odata.nextLink"] === "string" ? page["@odata.nextLink"] : undefined;
      const reachedLimit = resultSize !== undefined && delivered + rows.length >= resultSize;
      // The module's stop rule: with a numeric ResultSize continue only after a full page.
      const fullPage = rows.length >= wanted;
      const willFollow =
        next !== undefined &&
        !reachedLimit &&
        (resultSize === undefined || resultSize === Infinity || fullPage);

      for (const warning of strings(page["@adminapi.warnings"])) {
        if (willFollow && MORE_RESULTS_WARNING.test(warning)) continue;
        options.onWarning?.(warning);
      }
      for (const message of strings(page["@adminapi.errors"])) {
        if (options.onError) options.onError(message);
        else cmdletErrors.push(message);
      }
      for (const row of rows) {
        if (resultSize !== undefined && delivered >= resultSize) break;
        delivered++;
        yield options.raw ? row : normalizeRow(row);
      }
      if (!willFollow || next === undefined) break;
      url = this.sameOriginNextLink(next, url);
    }

    if (cmdletErrors.length > 0) {
      const summary = `${cmdlet} reported ${cmdletErrors.length} error(s): ${cmdletErrors.slice(0, 3).join(" | ")}`;
      if (delivered > 0) throw new PartialResultError(`${summary} (after returning ${delivered} row(s))`);
      throw new ServerError(summary, { cmdlet });
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
    if (target.origin !== this.origin) {
      throw new ServerError(
        `Refusing to follow @odata.nextLink to ${target.origin}: it is not the Exchange endpoint ${this.origin}, and the access token must not be sent there.`,
        {
          hint: "If you use a proxy or custom endpoint, set EXO_EXCHANGE_ENDPOINT to the origin the service uses.",
        },
      );
    }
    return target.toString();
  }

  /**
   * POST one page, with retries. A 401 gets one fresh token and an immediate second try outside the
   * retry budget, so even a caller allowing a single attempt gets the 401 diagnosed, not "gave up".
   */
  private async fetchPage(
    url: string,
    body: string,
    cmdlet: string,
    clientRequestId: string,
    pageSize: number,
    signal: AbortSignal | undefined,
  ): Promise<Page> {
    const retry: RetryOptions = {
      ...this.options.retry,
      onRetry: (info) => {
        this.stats.retries++;
        this.options.retry?.onRetry?.(info);
      },
    };
    if (signal) retry.signal = signal;
    const now = this.options.retry?.now ?? Date.now;
    let refreshed = false;
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
          this.stats.requests++;
          const req: Parameters<HttpTransport["request"]>[0] = { method: "POST", url, headers, body };
          if (signal) req.signal = signal;
          const res = await this.options.transport.request(req);
          const text = await res.text();
          if (res.status >= 200 && res.status < 300) {
            try {
              return JSON.parse(text) as Page;
            } catch (error) {
              // A 200 whose body broke off mid-way: the connection dropped; ask for the same page again.
              throw new RetryableError("incomplete response body", { httpStatus: res.status, cause: error });
            }
          }
          if (res.status === 401 && !refreshed) throw new TokenRefused();
          const retryable = retryableResponse(res.status, res.headers, text, now());
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
        if (!(error instanceof TokenRefused)) throw error;
        refreshed = true;
        this.stats.retries++;
      }
    }
  }
}

/** A 401 on a token not yet refreshed: the caller refreshes it once and sends the same page again. */
class TokenRefused extends Error {
  constructor() {
    super("token refused (HTTP 401)");
  }
}
