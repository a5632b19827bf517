/**
 * Test harness for the Exchange handler alone: a plain `node:http` server with fake dependencies
 * (unsigned test JWTs, one tenant, a controllable clock). Used by this folder's tests; it lets them
 * run without the rest of the emulator (TLS, identity, Graph).
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createMailboxDataset, type MailboxDataset } from "../../src/data/mailboxes.js";
import { SUPPORTED_ROLES } from "../../src/exchange/authorization.js";
import { createExchangeHandler } from "../../src/exchange/handler.js";
import type { AccessTokenClaims, FaultOptions, TenantInfo, ThrottleOptions } from "../../src/types.js";

export const TEST_TENANT: TenantInfo = {
  id: "7c1d9d8a-5d2e-4c1b-9a57-000000000001",
  domain: "contoso.onmicrosoft.com",
  displayName: "Contoso",
};
export const TEST_APP_ID = "11111111-2222-4333-8444-555555555555";
/** A second tenant (same generated data), for budgets that must be per tenant. */
export const OTHER_TENANT: TenantInfo = {
  id: "7c1d9d8a-5d2e-4c1b-9a57-000000000002",
  domain: "fabrikam.onmicrosoft.com",
  displayName: "Fabrikam",
};

export interface HarnessOptions {
  count?: number;
  seed?: number;
  latencyMs?: number;
  throttle?: ThrottleOptions;
  faults?: FaultOptions;
}

export interface InvokeOptions {
  /** full URL (e.g. a nextLink); default the InvokeCommand URL of the test tenant */
  url?: string;
  method?: "GET" | "POST";
  /** bearer token; null sends none; default a valid Exchange Administrator app token */
  token?: string | null;
  headers?: Record<string, string>;
  /** raw body instead of the CmdletInput built from cmdlet + params */
  body?: string;
  pageSize?: number;
}

export interface InvokeResult {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test convenience for reading JSON bodies
  json: any;
}

export interface Harness {
  origin: string;
  invokeUrl: string;
  tenant: TenantInfo;
  dataset: MailboxDataset;
  stats: Record<"exchangeRequests" | "throttled" | "faultsInjected", number>;
  /** latencies the handler waited for */
  sleeps: number[];
  /** hold every latency wait until `releaseSleeps()` (for concurrency tests) */
  holdSleeps(): void;
  releaseSleeps(): void;
  now: { ms: number };
  propagated: { value: boolean };
  setOptions(options: Omit<HarnessOptions, "count" | "seed">): void;
  token(claims?: Partial<AccessTokenClaims>, signature?: string): string;
  invoke(cmdlet: string, params?: Record<string, unknown>, options?: InvokeOptions): Promise<InvokeResult>;
  close(): Promise<void>;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dataset = createMailboxDataset({
    seed: options.seed ?? 1,
    count: options.count ?? 50,
    domain: TEST_TENANT.domain,
    tenantId: TEST_TENANT.id,
  });
  let current = { latencyMs: options.latencyMs ?? 0, throttle: options.throttle, faults: options.faults };
  const stats = { exchangeRequests: 0, throttled: 0, faultsInjected: 0 };
  const sleeps: number[] = [];
  const now = { ms: Date.UTC(2026, 10, 28, 12, 0, 0) };
  const propagated = { value: true };
  let held: Array<() => void> | undefined;

  let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  handler = createExchangeHandler({
    origin,
    verifyAccessToken(token) {
      const [, payload, signature] = token.split(".");
      if (!payload || signature !== "test-signature") return null;
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as AccessTokenClaims;
      return claims.exp * 1000 > now.ms && claims.nbf * 1000 <= now.ms ? claims : null;
    },
    resolveTenant: (segment) =>
      [TEST_TENANT, OTHER_TENANT].find((t) => [t.id, t.domain].includes(segment.toLowerCase())),
    authorizationPropagated: () => propagated.value,
    dataset: () => dataset,
    options: () => current,
    onStat: (kind) => {
      stats[kind]++;
    },
    clock: () => now.ms,
    sleep: (ms) => {
      sleeps.push(ms);
      if (!held) return Promise.resolve();
      const queue = held;
      return new Promise<void>((resolve) => queue.push(resolve));
    },
  });

  const invokeUrl = `${origin}/adminapi/beta/${TEST_TENANT.domain}/InvokeCommand`;

  function token(claims: Partial<AccessTokenClaims> = {}, signature = "test-signature"): string {
    const iat = Math.floor(now.ms / 1000);
    const full: AccessTokenClaims = {
      aud: origin,
      iss: `https://sts.windows.net/${TEST_TENANT.id}/`,
      tid: TEST_TENANT.id,
      appid: TEST_APP_ID,
      oid: "99999999-2222-4333-8444-555555555555",
      idtyp: "app",
      roles: ["Exchange.ManageAsApp"],
      wids: [SUPPORTED_ROLES.exchangeAdministrator],
      appidacr: "2",
      iat,
      nbf: iat,
      exp: iat + 3600,
      ...claims,
    };
    return `${b64({ alg: "none", typ: "JWT" })}.${b64(full)}.${signature}`;
  }

  async function invoke(
    cmdlet: string,
    params: Record<string, unknown> = {},
    invokeOptions: InvokeOptions = {},
  ): Promise<InvokeResult> {
    const method = invokeOptions.method ?? "POST";
    const headers: Record<string, string> = { Accept: "application/json", ...invokeOptions.headers };
    const bearer = invokeOptions.token === undefined ? token() : invokeOptions.token;
    if (bearer !== null) headers.Authorization = `Bearer ${bearer}`;
    if (invokeOptions.pageSize !== undefined) headers.Prefer = `odata.maxpagesize=${invokeOptions.pageSize}`;
    let body: string | undefined;
    if (method === "POST") {
      headers["Content-Type"] = "application/json";
      body =
        invokeOptions.body ?? JSON.stringify({ CmdletInput: { CmdletName: cmdlet, Parameters: params } });
    }
    const response = await fetch(invokeOptions.url ?? invokeUrl, { method, headers, body });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  return {
    origin,
    invokeUrl,
    tenant: TEST_TENANT,
    dataset,
    stats,
    sleeps,
    holdSleeps() {
      held = [];
    },
    releaseSleeps() {
      const queue = held ?? [];
      held = undefined;
      for (const resolve of queue) resolve();
    },
    now,
    propagated,
    setOptions(next) {
      current = { latencyMs: next.latencyMs ?? 0, throttle: next.throttle, faults: next.faults };
    },
    token,
    invoke,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
