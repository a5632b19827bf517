import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { Agent, request as httpsRequest } from "node:https";
import { createSecureContext, rootCertificates } from "node:tls";
import { UsageError } from "../errors.js";

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
  /** Abort the whole exchange after this long (default 16 min: the server's own limit is 15). */
  timeoutMs?: number;
  signal?: AbortSignal;
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
}

export const DEFAULT_TIMEOUT_MS = 16 * 60_000;

export class HttpTransport {
  readonly agent: Agent;

  constructor(options: HttpTransportOptions = {}) {
    // Giving `ca` replaces Node's default store, so the system roots and NODE_EXTRA_CA_CERTS are added back.
    const ca = [...rootCertificates];
    const extraFiles = new Set([process.env.NODE_EXTRA_CA_CERTS, options.env?.NODE_EXTRA_CA_CERTS]);
    for (const file of extraFiles) {
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
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: options.maxSockets ?? 64,
      // One secure context for every connection: with a bare `ca` option Node parses the whole trust
      // list again for each new TLS connection (~250 ms of CPU each with the system roots).
      secureContext: createSecureContext({ ca }),
      rejectUnauthorized: true,
    });
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    const url = typeof req.url === "string" ? new URL(req.url) : req.url;
    if (url.protocol !== "https:") {
      return Promise.reject(new Error(`Refusing a non-https URL: ${url.origin}`));
    }
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...req.headers };
      if (req.body !== undefined) headers["content-length"] = Buffer.byteLength(req.body);
      const r = httpsRequest(
        url,
        { method: req.method, headers, agent: this.agent, signal: req.signal },
        (res) => {
          resolve(wrapResponse(res));
        },
      );
      r.setTimeout(req.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => {
        r.destroy(
          Object.assign(new Error(`Request timed out after ${req.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`), {
            code: "ETIMEDOUT",
          }),
        );
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

function wrapResponse(res: IncomingMessage): HttpResponse {
  let consumed: Promise<string> | undefined;
  const text = () => {
    consumed ??= (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
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
