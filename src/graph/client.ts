import { TransientError } from "../errors.js";
import { type HttpTransport, isTransientNetworkError } from "../http/transport.js";
import { GraphError, parseGraphError } from "./errors.js";
import type { GraphPage } from "./types.js";

/**
 * A thin Microsoft Graph v1.0 client: JSON in and out, typed errors, and bounded retries for throttling
 * and server hiccups (429/503/504 honouring Retry-After, dropped connections). Replication lag (404s and
 * "not a valid reference" right after a create) is NOT retried here: only the caller knows whether a 404
 * means "missing" or "not replicated yet" (see src/setup/wait.ts).
 */
export interface GraphClientOptions {
  /** Graph base, e.g. https://graph.microsoft.com (calls go to `${endpoint}/v1.0/...`). */
  endpoint: string;
  transport: HttpTransport;
  /** Returns a bearer token for the Graph resource; called before every request (the provider caches). */
  getToken: () => Promise<string>;
  /** Retries of one request on 429/503/504 or a dropped connection (default 4). */
  maxRetries?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Observe every response (tests count writes; diagnostics). */
  onResponse?: (entry: { method: string; path: string; status: number }) => void;
}

export interface GraphRequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
}

export interface GraphResponse<T> {
  status: number;
  body: T | undefined;
}

const RETRY_STATUSES = new Set([429, 503, 504]);
const MAX_RETRY_AFTER_MS = 120_000;

export const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class GraphClient {
  readonly endpoint: string;
  private readonly origin: string;
  private readonly options: GraphClientOptions;

  constructor(options: GraphClientOptions) {
    this.options = options;
    this.endpoint = options.endpoint.replace(/\/+$/, "");
    this.origin = new URL(this.endpoint).origin;
  }

  /** `path` is relative to `/v1.0` (e.g. `/applications`) or an absolute nextLink on the same origin. */
  async request<T>(
    method: string,
    path: string,
    options: GraphRequestOptions = {},
  ): Promise<GraphResponse<T>> {
    const url = path.startsWith("https://") ? new URL(path) : new URL(`${this.endpoint}/v1.0${path}`);
    // The admin's bearer token must never leave the Graph origin (a nextLink could point anywhere).
    if (url.origin !== this.origin) {
      throw new Error(`Refusing to send the Graph token to ${url.origin} (expected ${this.origin}).`);
    }
    const maxRetries = this.options.maxRetries ?? 4;
    const sleep = this.options.sleep ?? defaultSleep;
    const random = this.options.random ?? Math.random;
    const shownPath = url.pathname.replace(/^\/v1\.0/, "") + url.search;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {
        authorization: `Bearer ${await this.options.getToken()}`,
        accept: "application/json",
        ...options.headers,
      };
      let body: string | undefined;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers["content-type"] = "application/json";
      }
      let status: number;
      let text: string;
      let responseHeaders: Record<string, string | string[] | undefined>;
      try {
        const res = await this.options.transport.request({
          method,
          url,
          headers,
          timeoutMs: 100_000,
          ...(body !== undefined ? { body } : {}),
        });
        status = res.status;
        text = await res.text();
        responseHeaders = res.headers;
      } catch (error) {
        if (isTransientNetworkError(error) && attempt < maxRetries) {
          await sleep(backoffMs(attempt, random));
          continue;
        }
        if (isTransientNetworkError(error)) {
          throw new TransientError(`Microsoft Graph ${method} ${shownPath}: ${(error as Error).message}`, {
            attempts: attempt + 1,
            cause: error,
            hint: "The network or Graph is unreliable right now; run the command again (it resumes).",
          });
        }
        throw error;
      }
      this.options.onResponse?.({ method, path: shownPath, status });
      if (RETRY_STATUSES.has(status)) {
        if (attempt < maxRetries) {
          await sleep(retryAfterMs(responseHeaders["retry-after"]) ?? backoffMs(attempt, random));
          continue;
        }
        const err = parseGraphError(method, shownPath, status, text, responseHeaders);
        throw new TransientError(`${err.message} (after ${attempt + 1} attempts)`, {
          attempts: attempt + 1,
          httpStatus: status,
          cause: err,
          hint: "Microsoft Graph is throttling or unavailable; wait a few minutes and run the command again.",
        });
      }
      if (status >= 400) throw parseGraphError(method, shownPath, status, text, responseHeaders);
      return { status, body: text ? (JSON.parse(text) as T) : undefined };
    }
  }

  async get<T>(path: string): Promise<T> {
    return (await this.request<T>("GET", path)).body as T;
  }

  /** GET that maps 404 to undefined (a missing object is an answer, not an error). */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (error) {
      if (error instanceof GraphError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Every item of a collection, following `@odata.nextLink`. */
  async list<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined = path;
    while (next) {
      const page: GraphPage<T> = await this.get<GraphPage<T>>(next);
      items.push(...(page.value ?? []));
      next = page["@odata.nextLink"];
    }
    return items;
  }

  async post<T>(path: string, body: unknown, headers?: Record<string, string>): Promise<GraphResponse<T>> {
    return this.request<T>("POST", path, { body, ...(headers ? { headers } : {}) });
  }

  async patch<T>(path: string, body: unknown, headers?: Record<string, string>): Promise<GraphResponse<T>> {
    return this.request<T>("PATCH", path, { body, ...(headers ? { headers } : {}) });
  }

  async delete(path: string): Promise<void> {
    await this.request("DELETE", path);
  }
}

/** Exponential backoff with full jitter: 0.5–1 s, 1–2 s, 2–4 s ... capped at 30 s. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(30_000, 1000 * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Retry-After in seconds or as an HTTP date; capped so a broken header cannot park us for hours. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const seconds = Number(v);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(v);
  if (!Number.isNaN(date)) return Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
  return undefined;
}

/** Quote a value for an OData string literal (`'` doubled) and URL-encode a `$filter`. */
export const odataString = (value: string) => `'${value.replace(/'/g, "''")}'`;
export const filterQuery = (filter: string) => `$filter=${encodeURIComponent(filter)}`;
