import { parseRetryAfter, RetryableError, type RetryOptions, withRetry } from "../http/retry.js";
import type { HttpTransport } from "../http/transport.js";
import { GraphError, parseGraphError } from "./errors.js";
import type { GraphPage } from "./types.js";

/**
 * A thin Microsoft Graph v1.0 client: JSON in and out, typed errors, and bounded retries for throttling
 * and server hiccups (429/503/504 honouring Retry-After, dropped connections) through the shared policy
 * of src/http/retry.ts. Replication lag (404s and
 * "not a valid reference" right after a create) is NOT retried here: only the caller knows whether a 404
 * means "missing" or "not replicated yet" (see src/graph/replication.ts).
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
    const shownPath = url.pathname.replace(/^\/v1\.0/, "") + url.search;
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const retry: RetryOptions = {
      maxAttempts: (this.options.maxRetries ?? 4) + 1,
      baseDelayMs: 1000,
      maxDelayMs: 30_000,
      ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
      ...(this.options.random ? { random: this.options.random } : {}),
    };
    return withRetry(async () => {
      const headers: Record<string, string> = {
        authorization: `Bearer ${await this.options.getToken()}`,
        accept: "application/json",
        ...options.headers,
      };
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await this.options.transport.request({
        method,
        url,
        headers,
        timeoutMs: 100_000,
        ...(body !== undefined ? { body } : {}),
      });
      const text = await res.text();
      this.options.onResponse?.({ method, path: shownPath, status: res.status });
      if (RETRY_STATUSES.has(res.status)) {
        const wait = parseRetryAfter(res.headers["retry-after"], Date.now());
        const requestId = res.headers["request-id"];
        throw new RetryableError(`Microsoft Graph ${method} ${shownPath}: HTTP ${res.status}`, {
          httpStatus: res.status,
          // A broken header must not park us for hours.
          ...(wait !== undefined ? { retryAfterMs: Math.min(wait, MAX_RETRY_AFTER_MS) } : {}),
          ...(typeof requestId === "string" ? { requestId } : {}),
        });
      }
      if (res.status >= 400) throw parseGraphError(method, shownPath, res.status, text, res.headers);
      return { status: res.status, body: text ? (JSON.parse(text) as T) : undefined };
    }, retry);
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

/** Quote a value for an OData string literal (`'` doubled) and URL-encode a `$filter`. */
export const odataString = (value: string) => `'${value.replace(/'/g, "''")}'`;
export const filterQuery = (filter: string) => `$filter=${encodeURIComponent(filter)}`;
