/**
 * One HTTPS exchange with the VB365 server over the verifying agent (tls.ts): the whole body is read
 * (bounded), with a timeout. Retries and error mapping live in client.ts.
 */
import type { IncomingHttpHeaders } from "node:http";
import { type Agent, request } from "node:https";

export interface Vb365HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** Largest body we read: a page of 10,000 mailbox items is a few MB. */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 5 * 60_000;

export function vb365Request(
  agent: Agent,
  req: {
    method: string;
    url: URL;
    headers: Record<string, string>;
    body?: string;
    timeoutMs?: number;
    signal?: AbortSignal;
  },
): Promise<Vb365HttpResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined) headers["content-length"] = Buffer.byteLength(req.body);
    const r = request(
      req.url,
      { method: req.method, headers, agent, ...(req.signal ? { signal: req.signal } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) {
            res.destroy(new Error(`The VB365 answer exceeded ${MAX_BODY_BYTES} bytes.`));
            return;
          }
          chunks.push(c);
        });
        res.on("error", reject);
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    const timeout = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    r.setTimeout(timeout, () => {
      r.destroy(Object.assign(new Error(`Request timed out after ${timeout} ms`), { code: "ETIMEDOUT" }));
    });
    r.on("error", reject);
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}
