/**
 * Veeam Backup for Microsoft 365 REST client (docs/vb365.md): one sign-in per run (the token endpoint
 * is throttled), refresh before expiry, log out at the end; paging by offset/limit until a short page;
 * v8 page envelopes and v6/v7 plain arrays; typed errors with what to do.
 *
 * The password is held in memory only for the password grant; it never appears in a URL, a message or
 * a log record. Tokens never leave this file.
 */
import type { Agent } from "node:https";
import {
  AuthenticationError,
  AuthorizationError,
  ExoCbaError,
  ServerError,
  TransientError,
  UsageError,
} from "../errors.js";
import { parseRetryAfter, RetryableError, type RetryOptions, withRetry } from "../http/retry.js";
import { vb365Request } from "./http.js";
import { createVb365Agent, type Vb365TrustOptions } from "./tls.js";

export type Vb365ApiVersion = "v8" | "v7" | "v6";
/** Probed from the newest down: a server answers only the versions it knows (docs/vb365.md). */
export const API_VERSIONS: readonly Vb365ApiVersion[] = ["v8", "v7", "v6"];

/** Documented maximum page size (docs/vb365.md "Paging"). */
export const MAX_PAGE_SIZE = 10_000;
/**
 * Items asked per page by default: a page of 10,000 mailbox items is ~10 MB of text, held twice while it
 * is read and parsed; 2,000 keeps the report's peak memory down at 100,000 mailboxes for a few more
 * requests, made while the Exchange half runs (docs/vb365.md "Paging and shapes").
 */
export const DEFAULT_PAGE_SIZE = 2_000;
export const DEFAULT_PORT = 4443;

export interface Vb365ClientOptions {
  /** `https://HOST[:PORT]` (port 4443 when not given) */
  server: string;
  username: string;
  password: string;
  trust?: Vb365TrustOptions;
  /** items asked per page (default 2,000, maximum 10,000) */
  pageSize?: number;
  /** skip the version probe */
  apiVersion?: Vb365ApiVersion;
  retry?: RetryOptions;
  /** injectable clock (token expiry) */
  now?: () => number;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** the agent to use (tests); default: one built from `trust` */
  agent?: Agent;
}

export interface Vb365Stats {
  requests: number;
  tokenRequests: number;
  refreshes: number;
  pages: number;
  retries: number;
}

interface TokenState {
  access: string;
  refresh: string | undefined;
  /** when we refresh (ms since epoch): a margin before the server's expiry */
  refreshAt: number;
}

/** `https://host:4443` from what the user typed (`host`, `host:4443`, `https://host:4443/`). */
export function normalizeServer(value: string): URL {
  const text = value.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--vb365-server '${value}' is not a server address.`, {
      hint: "Give the VB365 REST address, e.g. --vb365-server https://vb365.example.com:4443.",
    });
  }
  if (url.protocol !== "https:") {
    throw new UsageError(`--vb365-server must use https, not ${url.protocol.replace(":", "")}.`, {
      hint: "The VB365 REST API listens on https (port 4443 by default).",
    });
  }
  if (url.username || url.password) {
    throw new UsageError("--vb365-server must not contain a user name or password.", {
      hint: "Give the user with --vb365-username and the password with VB365_PASSWORD or --vb365-password-file.",
    });
  }
  if (url.port === "" && !/:\d+(\/|$)/.test(withScheme.replace(/^[^:]+:\/\//, ""))) {
    url.port = String(DEFAULT_PORT);
  }
  return new URL(url.origin);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The RESTExceptionInfo message (or an OAuth error description) of an error body, if any. */
export function errorMessageOf(text: string): { message?: string; errorCode?: string } {
  try {
    const body = JSON.parse(text) as unknown;
    if (!isRecord(body)) return {};
    const message =
      typeof body.message === "string"
        ? body.message
        : typeof body.error_description === "string"
          ? body.error_description
          : typeof body.error === "string"
            ? body.error
            : undefined;
    const errorCode = typeof body.errorCode === "string" ? body.errorCode : undefined;
    return { ...(message ? { message: message.slice(0, 500) } : {}), ...(errorCode ? { errorCode } : {}) };
  } catch {
    return {};
  }
}

/** Error codes meaning "no answer from that address" (after the retry budget, or at once for DNS). */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
]);

export class Vb365Client {
  readonly origin: URL;
  readonly stats: Vb365Stats = { requests: 0, tokenRequests: 0, refreshes: 0, pages: 0, retries: 0 };
  private readonly agent: Agent;
  private readonly ownsAgent: boolean;
  private readonly pageSize: number;
  private readonly now: () => number;
  private version: Vb365ApiVersion | undefined;
  private token: TokenState | undefined;
  private pendingToken: Promise<TokenState> | undefined;
  private password: string;
  private loggedOut = false;

  constructor(private readonly options: Vb365ClientOptions) {
    this.origin = normalizeServer(options.server);
    if (!options.username) {
      throw new UsageError("No VB365 user name.", {
        hint: "Give --vb365-username (or VB365_USERNAME), e.g. DOMAIN\\svc-report.",
      });
    }
    if (!options.password) {
      throw new UsageError("No VB365 password.", {
        hint: "Set VB365_PASSWORD or give --vb365-password-file FILE (the password is never accepted on the command line).",
      });
    }
    this.password = options.password;
    this.agent = options.agent ?? createVb365Agent(options.trust ?? {});
    this.ownsAgent = options.agent === undefined;
    const size = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.pageSize = Math.max(1, Math.min(MAX_PAGE_SIZE, Math.floor(size)));
    this.now = options.now ?? Date.now;
    this.version = options.apiVersion;
  }

  /** The API version the server answered (after signIn). */
  get apiVersion(): Vb365ApiVersion {
    return this.version ?? "v8";
  }

  /** Sign in (password grant), probing v8 → v7 → v6 when the version is not known. */
  async signIn(): Promise<void> {
    await this.currentToken();
  }

  // -- tokens --

  private async currentToken(force = false): Promise<TokenState> {
    if (this.loggedOut) throw new Error("The VB365 session was logged out.");
    if (!force && this.token && this.now() < this.token.refreshAt) return this.token;
    this.pendingToken ??= this.obtainToken().finally(() => {
      this.pendingToken = undefined;
    });
    return this.pendingToken;
  }

  private async obtainToken(): Promise<TokenState> {
    if (this.token?.refresh) {
      try {
        this.stats.refreshes++;
        this.token = await this.tokenRequest(this.apiVersion, {
          grant_type: "refresh_token",
          refresh_token: this.token.refresh,
        });
        return this.token;
      } catch (error) {
        // A refused refresh (token revoked, server restarted): one password sign-in, below.
        if (!(error instanceof AuthenticationError)) throw error;
      }
    }
    const grant = { grant_type: "password", username: this.options.username, password: this.password };
    if (this.version) {
      this.token = await this.tokenRequest(this.version, grant);
      return this.token;
    }
    for (const version of API_VERSIONS) {
      try {
        this.token = await this.tokenRequest(version, grant);
        this.version = version;
        return this.token;
      } catch (error) {
        if (error instanceof VersionNotServed) continue;
        throw error;
      }
    }
    throw new ServerError(
      `${this.origin.origin} does not answer the VB365 REST token endpoint (/v8, /v7, /v6).`,
      {
        hint: "Check --vb365-server: it is the VB365 REST address (https://HOST:4443), and the REST service must be enabled on the VB365 server.",
      },
    );
  }

  private async tokenRequest(version: Vb365ApiVersion, grant: Record<string, string>): Promise<TokenState> {
    // A non-browser client turns the antiforgery requirement off on every grant, the refresh too
    // (docs/vb365.md "Sign-in"); the flag exists since v7.
    const fields = version === "v6" ? grant : { ...grant, disable_antiforgery_token: "true" };
    const body = new URLSearchParams(fields).toString();
    this.stats.tokenRequests++;
    const res = await this.exchange("POST", `/${version}/token`, {
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body,
    });
    if (res.status === 404 && grant.grant_type === "password" && !this.version) throw new VersionNotServed();
    if (res.status < 200 || res.status >= 300) {
      const { message, errorCode } = errorMessageOf(res.text);
      const refused =
        grant.grant_type === "refresh_token" ? "refused the token refresh" : "refused the sign-in";
      throw new AuthenticationError(
        `The VB365 server ${this.origin.origin} ${refused} (HTTP ${res.status})${message ? `: ${message}` : "."}`,
        {
          httpStatus: res.status,
          ...(errorCode ? { oauthError: errorCode } : {}),
          hint:
            "Check the user name (--vb365-username / VB365_USERNAME, e.g. DOMAIN\\user) and the password " +
            "(VB365_PASSWORD or --vb365-password-file); the account must be allowed to use the VB365 REST API " +
            "(a member of the local Administrators group of the VB365 server, or a configured REST operator).",
        },
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.text);
    } catch {
      parsed = undefined;
    }
    if (!isRecord(parsed) || typeof parsed.access_token !== "string" || parsed.access_token === "") {
      throw new ServerError(
        `The VB365 token endpoint of ${this.origin.origin} answered without an access token.`,
        {
          httpStatus: res.status,
        },
      );
    }
    const lifetimeS = Number(parsed.expires_in);
    const lifetimeMs = Number.isFinite(lifetimeS) && lifetimeS > 0 ? lifetimeS * 1000 : 60 * 60_000;
    // Refresh a minute early, or a quarter of the lifetime for short-lived tokens.
    const margin = Math.min(60_000, lifetimeMs / 4);
    return {
      access: parsed.access_token,
      refresh:
        typeof parsed.refresh_token === "string" && parsed.refresh_token ? parsed.refresh_token : undefined,
      refreshAt: this.now() + lifetimeMs - margin,
    };
  }

  // -- requests --

  /** One HTTP exchange with bounded retries (429, 502-504, dropped connections) and error mapping. */
  private async exchange(
    method: string,
    pathAndQuery: string,
    init: { headers: Record<string, string>; body?: string },
  ) {
    const url = new URL(pathAndQuery, this.origin);
    try {
      return await withRetry(
        async () => {
          this.stats.requests++;
          const res = await vb365Request(this.agent, {
            method,
            url,
            headers: init.headers,
            ...(init.body !== undefined ? { body: init.body } : {}),
            ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}),
            ...(this.options.signal ? { signal: this.options.signal } : {}),
          });
          if (res.status === 429 || res.status === 502 || res.status === 503 || res.status === 504) {
            const retryAfterMs = parseRetryAfter(res.headers["retry-after"], this.now());
            throw new RetryableError(`HTTP ${res.status} from ${url.pathname}`, {
              httpStatus: res.status,
              ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
            });
          }
          return res;
        },
        {
          ...this.options.retry,
          onRetry: (info) => {
            this.stats.retries++;
            this.options.retry?.onRetry?.(info);
          },
          ...(this.options.signal ? { signal: this.options.signal } : {}),
        },
      );
    } catch (error) {
      throw this.mapNetworkError(error);
    }
  }

  private mapNetworkError(error: unknown): unknown {
    if (error instanceof VersionNotServed) return error;
    const unreachableHint =
      `Check --vb365-server (${this.origin.origin}): the VB365 REST service must be enabled ` +
      "(VB365 console → General Options → REST API) and its port (4443 by default) reachable from here.";
    if (error instanceof TransientError) {
      const cause = error.cause as { code?: string } | undefined;
      if (cause?.code && UNREACHABLE.has(cause.code)) {
        return new TransientError(
          `The VB365 server ${this.origin.origin} cannot be reached: ${error.message}`,
          {
            ...(error.attempts !== undefined ? { attempts: error.attempts } : {}),
            cause: error,
            hint: unreachableHint,
          },
        );
      }
      return error;
    }
    if (error instanceof ExoCbaError) return error;
    const code = (error as { code?: string } | undefined)?.code;
    if (code && UNREACHABLE.has(code)) {
      return new TransientError(`The VB365 server ${this.origin.origin} cannot be reached (${code}).`, {
        cause: error,
        hint: unreachableHint,
      });
    }
    if (code && /^(ERR_TLS|ERR_SSL|EPROTO|ECONNRESET)/.test(code)) {
      return new TransientError(
        `The connection to the VB365 server ${this.origin.origin} failed (${code}).`,
        {
          cause: error,
          hint: `${unreachableHint} Make sure the address is the REST port, not another service.`,
        },
      );
    }
    return error;
  }

  /** GET a resource (path without the version, e.g. `/Organizations`); the parsed JSON body. */
  async get(
    path: string,
    query: Record<string, string | number | boolean | undefined> = {},
  ): Promise<unknown> {
    await this.currentToken();
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) search.set(k, String(v));
    const qs = search.toString();
    const target = `/${this.apiVersion}${path}${qs ? `?${qs}` : ""}`;
    for (let attempt = 0; ; attempt++) {
      const token = await this.currentToken(attempt > 0);
      const res = await this.exchange("GET", target, {
        headers: { authorization: `Bearer ${token.access}`, accept: "application/json" },
      });
      // 401: the token expired early (clock skew, a server restart): refresh once and repeat.
      if (res.status === 401 && attempt === 0) continue;
      if (res.status >= 200 && res.status < 300) {
        try {
          return JSON.parse(res.text) as unknown;
        } catch {
          throw new ServerError(`The VB365 server answered ${target} with something that is not JSON.`, {
            httpStatus: res.status,
          });
        }
      }
      throw this.httpError(res.status, res.text, target);
    }
  }

  private httpError(status: number, text: string, target: string): ExoCbaError {
    const { message, errorCode } = errorMessageOf(text);
    const what = `VB365 ${target.split("?")[0]} failed (HTTP ${status}${errorCode ? `, ${errorCode}` : ""})${message ? `: ${message}` : "."}`;
    if (status === 401) {
      return new AuthenticationError(what, {
        httpStatus: status,
        hint: "The VB365 server refused our token even after a refresh; sign-in again later or check the server's REST settings.",
      });
    }
    if (status === 403 || errorCode === "ResourceAccessDenied") {
      return new AuthorizationError(what, {
        httpStatus: status,
        hint: "The VB365 account lacks rights for this call; use an account of the VB365 administrators.",
      });
    }
    if (status >= 500) {
      return new TransientError(what, {
        httpStatus: status,
        hint: "The VB365 server failed; try again later.",
      });
    }
    return new ServerError(what, { httpStatus: status, ...(errorCode ? { errorClass: errorCode } : {}) });
  }

  /**
   * Every page of a listing: `offset`/`limit` until a page comes back shorter than the limit (never
   * relying on `_links.next`). A plain JSON array (v6/v7 listings) is the whole list.
   * `paged: false` sends no offset/limit (v6/v7 listings that accept no paging parameters).
   */
  async *pages(
    path: string,
    query: Record<string, string | number | boolean | undefined> = {},
    options: { paged?: boolean } = {},
  ): AsyncGenerator<Record<string, unknown>[]> {
    let offset = 0;
    let previousFirst: string | undefined;
    for (;;) {
      const body = await this.get(
        path,
        options.paged === false ? query : { ...query, offset, limit: this.pageSize },
      );
      this.stats.pages++;
      if (Array.isArray(body)) {
        yield body.filter(isRecord);
        return;
      }
      if (!isRecord(body) || !Array.isArray(body.results)) {
        throw new ServerError(`The VB365 server answered ${path} with neither a page nor a list.`);
      }
      const results = body.results.filter(isRecord);
      if (results.length > 0) {
        const first = JSON.stringify(results[0]);
        if (first === previousFirst) {
          throw new ServerError(
            `The VB365 server returned the same page of ${path} twice (offset ignored?).`,
          );
        }
        previousFirst = first;
      }
      yield results;
      if (options.paged === false) return;
      const served = typeof body.limit === "number" && body.limit > 0 ? body.limit : this.pageSize;
      if (results.length === 0 || results.length < Math.min(served, this.pageSize)) return;
      offset += results.length;
    }
  }

  /** All items of a listing. */
  async list(
    path: string,
    query: Record<string, string | number | boolean | undefined> = {},
    options: { paged?: boolean } = {},
  ): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for await (const page of this.pages(path, query, options)) for (const item of page) out.push(item);
    return out;
  }

  /** End the session on the server (best effort) and close the connections. */
  async logout(): Promise<void> {
    if (this.loggedOut) return;
    const token = this.token;
    this.loggedOut = true;
    this.password = "";
    try {
      if (token) {
        this.stats.requests++;
        await vb365Request(this.agent, {
          method: "POST",
          url: new URL(`/${this.apiVersion}/token/logout`, this.origin),
          headers: { authorization: `Bearer ${token.access}`, accept: "application/json" },
          timeoutMs: 30_000,
        });
      }
    } catch {
      // Logging out is a courtesy; the token expires on its own.
    } finally {
      this.token = undefined;
      if (this.ownsAgent) this.agent.destroy();
    }
  }
}

class VersionNotServed extends Error {}
