import { type Agent, request } from "node:https";
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from "@azure/msal-node";

/**
 * The emulator's tests talk HTTPS with node:https alone, trusting exactly the emulator's CA: the package
 * imports nothing of exo-cba (whose own transport is tested against the emulator in the repository's test/).
 */

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function httpsRequest(options: {
  method: string;
  url: string;
  caPem: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  /** a keep-alive agent to reuse connections; default one connection per request */
  agent?: Agent;
}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...options.headers };
    if (options.body !== undefined) headers["content-length"] = Buffer.byteLength(options.body);
    const req = request(
      options.url,
      {
        method: options.method,
        headers,
        ca: options.caPem,
        agent: options.agent ?? false,
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
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
    req.on("timeout", () => req.destroy(new Error(`no answer from ${options.url}`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

/** MSAL's network client over `httpsRequest`, so MSAL trusts the emulator's CA (and nothing else extra). */
export function msalNetworkClient(caPem: string): INetworkModule {
  const send = async <T>(
    method: "GET" | "POST",
    url: string,
    options: NetworkRequestOptions | undefined,
    timeoutMs?: number,
  ): Promise<NetworkResponse<T>> => {
    const res = await httpsRequest({
      method,
      url,
      caPem,
      headers: options?.headers ?? {},
      ...(options?.body === undefined ? {} : { body: options.body }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
    }
    return { headers, body: (res.text ? JSON.parse(res.text) : {}) as T, status: res.status };
  };
  return {
    sendGetRequestAsync: (url, options, timeout) => send("GET", url, options, timeout),
    sendPostRequestAsync: (url, options) => send("POST", url, options),
  };
}
