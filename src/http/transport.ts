import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { Agent, request as httpsRequest } from "node:https";
import { createSecureContext, rootCertificates, type SecureContext } from "node:tls";
import { ServerError, UsageError } from "../errors.js";

/**
 * The one HTTPS transport every client uses (MSAL's network client, Graph, Exchange).
 * TLS is always verified. Trust = the system roots + NODE_EXTRA_CA_CERTS (Node's standard way) +
 * any CA given programmatically (the in-process emulator of tests and the demo).
 */
export interface HttpRequest {
  method: string;
  url: string | URL;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /**
   * Give up when the connection stays silent this long: no answer yet, or no body byte for this long
   * (default 16 min: the server's own limit is 15). Surfaces as a transient ETIMEDOUT network error.
   */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Refuse a body larger than this (default DEFAULT_MAX_RESPONSE_BYTES): a ServerError, not a crash. */
  maxResponseBytes?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, streamed; call text()/json() or iterate it, once. */
  body: IncomingMessage;
  text(): Promise<string>;
  json<T = unknown>(): Promise<T>;
}

export interface HttpTransportOptions {
  /** Extra trusted CA certificates (PEM). */
  caPem?: string[];
  /**
   * The environment whose NODE_EXTRA_CA_CERTS is trusted too (a command's injected environment, e.g. the
   * demo's or a test's). The process's own NODE_EXTRA_CA_CERTS is always trusted.
   */
  env?: NodeJS.ProcessEnv;
  /** Keep-alive sockets per origin. */
  maxSockets?: number;
  /** Close a kept-alive socket idle this long (default IDLE_SOCKET_MS; a server's shorter hint wins). */
  idleSocketMs?: number;
}

/**
 * `globalThis[STARTUP_EXTRA_CA]`: the NODE_EXTRA_CA_CERTS the process started with ("" for none), set by
 * bin/exo-cba.js before anything else runs.
 */
export const STARTUP_EXTRA_CA = Symbol.for("exo-cba.startup-node-extra-ca-certs");

export const DEFAULT_TIMEOUT_MS = 16 * 60_000;
/**
 * How long an unused kept-alive socket stays open. A server closes idle connections after its own limit;
 * a request sent on the socket as it closes fails with ECONNRESET (seen as "retrying: endpoint
 * unreachable" in a 100,000-mailbox report, where sockets idle while the listing runs). Node's agent
 * only closes idle sockets when it has a timeout of its own: then it also honours a server's
 * `Keep-Alive: timeout=N` hint, closing a second early. 4 s is the idle limit of undici (Node's fetch)
 * when a server gives no hint; a new TLS connection after 4 idle seconds costs little.
 */
export const IDLE_SOCKET_MS = 4_000;
/**
 * The largest body any client reads (docs/invoke.md "Limits"): a full page of 1000 Get-Mailbox rows is
 * about 15 MB, so 100 MiB leaves room while keeping a hostile endless body far from V8's string limit.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 100 * 1024 * 1024;

export class HttpTransport {
  readonly agent: Agent;

  constructor(options: HttpTransportOptions = {}) {
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: options.maxSockets ?? 64,
      // The agent's `timeout` is the idle limit of pooled sockets; each request sets its own (timeoutMs).
      timeout: options.idleSocketMs ?? IDLE_SOCKET_MS,
      ...trustOptions(options),
      rejectUnauthorized: true,
    });
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    const url = typeof req.url === "string" ? new URL(req.url) : req.url;
    if (url.protocol !== "https:") {
      return Promise.reject(new Error(`Refusing a non-https URL: ${url.origin}`));
    }
    const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxBytes = req.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...req.headers };
      if (req.body !== undefined) headers["content-length"] = Buffer.byteLength(req.body);
      // Set when the idle timer fires, so a body that stalls half-way reports the timeout, not "aborted".
      const state: { timedOut?: Error } = {};
      const r = httpsRequest(
        url,
        { method: req.method, headers, agent: this.agent, signal: req.signal },
        (res) => {
          resolve(wrapResponse(res, url, maxBytes, state));
        },
      );
      // The socket's idle timer stays armed while the body streams in, so it bounds both waits.
      r.setTimeout(timeoutMs, () => {
        state.timedOut = Object.assign(
          new Error(`No answer from ${url.origin} for ${formatSeconds(timeoutMs)} (request timeout)`),
          { code: "ETIMEDOUT" },
        );
        r.destroy(state.timedOut);
      });
      r.on("error", reject);
      if (req.body !== undefined) r.write(req.body);
      r.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * The trust settings of the agent. Node's default store already holds the system roots plus the
 * NODE_EXTRA_CA_CERTS the process started with (read natively at start-up), so when nothing else is to
 * be trusted the agent keeps that default: building our own context from the ~140 root PEMs costs
 * 50-100 ms of CPU before the first request of every CLI run (docs/architecture.md, "Start-up").
 * Only the CLI launcher knows what the process started with (a library caller or a test may have set
 * NODE_EXTRA_CA_CERTS later, which Node's store does not contain); it records it in STARTUP_EXTRA_CA.
 */
function trustOptions(options: HttpTransportOptions): { secureContext?: SecureContext } {
  const atStartup = (globalThis as Record<symbol, unknown>)[STARTUP_EXTRA_CA];
  const extraFiles = new Set([process.env.NODE_EXTRA_CA_CERTS, options.env?.NODE_EXTRA_CA_CERTS]);
  extraFiles.delete(undefined);
  extraFiles.delete("");
  if (typeof atStartup === "string") extraFiles.delete(atStartup);
  if (typeof atStartup === "string" && extraFiles.size === 0 && !options.caPem?.length) return {};
  // Giving `ca` replaces Node's default store, so the system roots and NODE_EXTRA_CA_CERTS are added back.
  const ca = [...rootCertificates];
  for (const file of new Set([process.env.NODE_EXTRA_CA_CERTS, ...extraFiles])) {
    if (!file) continue;
    try {
      ca.push(readFileSync(file, "utf8"));
    } catch (error) {
      if (file !== process.env.NODE_EXTRA_CA_CERTS) {
        throw new UsageError(`Cannot read NODE_EXTRA_CA_CERTS=${file}: ${(error as Error).message}`);
      }
      // Node itself warns about an unreadable NODE_EXTRA_CA_CERTS of the process.
    }
  }
  if (options.caPem) ca.push(...options.caPem);
  // One secure context for every connection: with a bare `ca` option Node parses the whole trust
  // list again for each new TLS connection (~250 ms of CPU each with the system roots).
  return { secureContext: createSecureContext({ ca }) };
}

const formatSeconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

function tooLarge(url: URL, maxBytes: number): ServerError {
  return new ServerError(
    `The answer from ${url.origin} is larger than ${Math.round(maxBytes / 1048576)} MiB; exo-cba stopped reading it.`,
    {
      hint: "A page of a real cmdlet is far smaller: check that the endpoint is Exchange Online and not a proxy or a misbehaving server.",
    },
  );
}

function wrapResponse(
  res: IncomingMessage,
  url: URL,
  maxBytes: number,
  state: { timedOut?: Error },
): HttpResponse {
  let consumed: Promise<string> | undefined;
  const text = () => {
    consumed ??= (async () => {
      const declared = Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > maxBytes) {
        res.destroy();
        throw tooLarge(url, maxBytes);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        for await (const chunk of res) {
          size += (chunk as Buffer).length;
          if (size > maxBytes) {
            res.destroy();
            throw tooLarge(url, maxBytes);
          }
          chunks.push(chunk as Buffer);
        }
      } catch (error) {
        throw state.timedOut ?? error;
      }
      if (state.timedOut) throw state.timedOut;
      if (!res.complete) {
        throw Object.assign(new Error("the connection closed before the whole answer arrived"), {
          code: "ECONNRESET",
        });
      }
      return Buffer.concat(chunks).toString("utf8");
    })();
    return consumed;
  };
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    body: res,
    text,
    json: async <T>() => JSON.parse(await text()) as T,
  };
}

/** Error codes of a connection that broke before an answer: always worth a retry. */
export const TRANSIENT_NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
]);

export function isTransientNetworkError(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  if (code && TRANSIENT_NETWORK_CODES.has(code)) return true;
  const message = (error as Error | undefined)?.message ?? "";
  return /socket hang up|other side closed/i.test(message);
}
