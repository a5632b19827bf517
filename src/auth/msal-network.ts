import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from "@azure/msal-node";
import type { HttpTransport } from "../http/transport.js";

/**
 * MSAL's network client on top of our transport, so MSAL honours the same trust settings (extra CAs
 * for a private or emulator CA, TLS always verified) as every other call we make.
 */
export function createMsalNetworkClient(transport: HttpTransport): INetworkModule {
  const send = async <T>(
    method: "GET" | "POST",
    url: string,
    options: NetworkRequestOptions | undefined,
    timeoutMs?: number,
  ): Promise<NetworkResponse<T>> => {
    const req: Parameters<HttpTransport["request"]>[0] = { method, url, headers: options?.headers ?? {} };
    if (options?.body !== undefined) req.body = options.body;
    if (timeoutMs !== undefined) req.timeoutMs = timeoutMs;
    const res = await transport.request(req);
    const text = await res.text();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
    }
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      // MSAL expects JSON; a non-JSON body (a proxy's HTML page) becomes an error object it can report.
      body = {
        error: "invalid_response",
        error_description: `Non-JSON response (HTTP ${res.status}): ${text.slice(0, 200)}`,
      };
    }
    return { headers, body: body as T, status: res.status };
  };
  return {
    sendGetRequestAsync: (url, options, timeout) => send("GET", url, options, timeout),
    sendPostRequestAsync: (url, options) => send("POST", url, options),
  };
}
