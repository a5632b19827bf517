import { getEventListeners } from "node:events";
import type { ServerResponse } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type RecordedRequest,
  type RecordingServer,
  sendJson,
  startRecordingServer,
} from "../../test/helpers/invoke-wire.js";
import type { AccessToken, TokenProvider } from "../auth/types.js";
import {
  AuthorizationError,
  PartialResultError,
  ServerError,
  TransientError,
  UsageError,
} from "../errors.js";
import { CircuitBreaker } from "../http/circuit-breaker.js";
import { HttpTransport } from "../http/transport.js";
import { type CmdletCallInfo, ExchangeClient, MAX_REPORTED_REQUEST_IDS } from "./client.js";

const ORG = "contoso.onmicrosoft.com";
const PATH = `/adminapi/beta/${ORG}/InvokeCommand`;

class FakeTokens implements TokenProvider {
  readonly kind = "fake";
  issued = 0;
  forced = 0;
  async getToken(options?: { forceRefresh?: boolean }): Promise<AccessToken> {
    if (options?.forceRefresh) this.forced++;
    else if (this.issued > 0)
      return { token: `tok-${this.issued}`, expiresOnTimestamp: Date.now() + 3_600_000 };
    this.issued++;
    return { token: `tok-${this.issued}`, expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

let server: RecordingServer;
let transport: HttpTransport;
let tokens: FakeTokens;
let waits: number[];

function client(retry: ConstructorParameters<typeof ExchangeClient>[0]["retry"] = {}) {
  return new ExchangeClient({
    exchangeEndpoint: server.origin,
    organization: ORG,
    tokenProvider: tokens,
    transport,
    retry: {
      sleep: async (ms) => {
        waits.push(ms);
      },
      random: () => 0.5,
      ...retry,
    },
  });
}

const rows = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ Name: `mbx${from + i}`, "Name@odata.type": "#String" }));

/** A paging server: `total` rows, honouring Prefer: odata.maxpagesize, nextLink carries the offset. */
function pagingHandler(
  total: number,
  hooks: {
    before?: (req: RecordedRequest, res: ServerResponse, socket: import("node:net").Socket) => boolean;
  } = {},
) {
  return (req: RecordedRequest, res: ServerResponse, socket: import("node:net").Socket) => {
    if (hooks.before?.(req, res, socket)) return;
    const url = new URL(req.url, server.origin);
    const skip = Number(url.searchParams.get("$skiptoken") ?? "0");
    const size = Number(String(req.headers.prefer).match(/odata.maxpagesize=(\d+)/)?.[1] ?? "100");
    const page = rows(skip, Math.max(0, Math.min(size, total - skip)));
    const body: Record<string, unknown> = {
      "@odata.context": `${server.origin}/adminapi/beta/${ORG}/$metadata#Collection(Exchange.GenericHashTable)`,
      "adminapi.warnings@odata.type": "#Collection(String)",
      "@adminapi.warnings": [],
      value: page,
    };
    if (skip + page.length < total) {
      body["@odata.nextLink"] = `${server.origin}${PATH}?$skiptoken=${skip + page.length}`;
      (body["@adminapi.warnings"] as string[]).push(
        "There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.",
      );
    }
    sendJson(res, 200, body, { "request-id": `srv-${server.requests.length}` });
  };
}

beforeAll(async () => {
  server = await startRecordingServer();
  transport = new HttpTransport({ caPem: [server.caPem] });
});
afterAll(async () => {
  transport.close();
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
  tokens = new FakeTokens();
  waits = [];
});

describe("ExchangeClient wire format (docs/exchange-rest.md §2)", () => {
  it("POSTs the module's header set and the CmdletInput body", async () => {
    server.setHandler(pagingHandler(1));
    const c = client();
    await c.invoke("Get-Mailbox", { Identity: "adele@contoso.com", ResultSize: "Unlimited", Archive: true });
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0]!;
    expect(req.method).toBe("POST");
    expect(req.url).toBe(PATH);
    const h = req.headers;
    expect(h.authorization).toBe("Bearer tok-1");
    expect(h.accept).toBe("application/json");
    expect(h["accept-charset"]).toBe("UTF-8");
    expect(h["content-type"]).toBe("application/json");
    expect(h["x-cmdletname"]).toBe("Get-Mailbox");
    expect(h["client-request-id"]).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(h["connection-id"]).toBe(c.connectionId);
    expect(h.prefer).toBe("odata.maxpagesize=1000");
    expect(h["x-anchormailbox"]).toBe(`UPN:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@${ORG}`);
    expect(h["x-responseformat"]).toBe("json");
    expect(h["x-serializationlevel"]).toBe("Partial");
    expect(h["x-clientapplication"]).toBe("ExoManagementModule");
    expect(h["user-agent"]).toMatch(/^exo-cba\/\d+\.\d+\.\d+/);
    expect(JSON.parse(req.body)).toEqual({
      CmdletInput: {
        CmdletName: "Get-Mailbox",
        Parameters: { Identity: "adele@contoso.com", ResultSize: "Unlimited", Archive: true },
      },
    });
  });

  it("uses the APP: anchor with a tenant id", async () => {
    server.setHandler(pagingHandler(0));
    const tid = "aaaaaaaa-1111-2222-3333-444444444444";
    await new ExchangeClient({
      exchangeEndpoint: server.origin,
      organization: tid,
      tokenProvider: tokens,
      transport,
    }).invoke("Get-OrganizationConfig");
    expect(server.requests[0]!.url).toBe(`/adminapi/beta/${tid}/InvokeCommand`);
    expect(server.requests[0]!.headers["x-anchormailbox"]).toBe(
      `APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@${tid}`,
    );
  });

  it("refuses a malformed cmdlet name before any request", async () => {
    await expect(client().invoke("Get Mailbox; rm -rf")).rejects.toBeInstanceOf(UsageError);
    await expect(client().invoke("GetMailbox")).rejects.toBeInstanceOf(UsageError);
    expect(server.requests).toHaveLength(0);
  });
});

describe("paging", () => {
  it("follows nextLink with the same body and client-request-id, and normalises rows", async () => {
    server.setHandler(pagingHandler(2500));
    const warnings: string[] = [];
    const got = await client().invoke(
      "Get-Mailbox",
      { ResultSize: "Unlimited" },
      { onWarning: (w) => warnings.push(w) },
    );
    expect(got).toHaveLength(2500);
    expect(got[0]).toEqual({ Name: "mbx0" });
    expect(got.map((r) => r.Name)).toEqual(Array.from({ length: 2500 }, (_, i) => `mbx${i}`));
    expect(server.requests.map((r) => r.url)).toEqual([
      PATH,
      `${PATH}?$skiptoken=1000`,
      `${PATH}?$skiptoken=2000`,
    ]);
    expect(new Set(server.requests.map((r) => r.headers["client-request-id"])).size).toBe(1);
    expect(new Set(server.requests.map((r) => r.body)).size).toBe(1);
    expect(server.requests.every((r) => r.method === "POST")).toBe(true);
    // The "more results" warning is suppressed on pages we follow.
    expect(warnings).toEqual([]);
  });

  it("honours a numeric ResultSize exactly (page sizes 1000 then 500) and passes the final warning on", async () => {
    server.setHandler(pagingHandler(5000));
    const warnings: string[] = [];
    const got = await client().invoke(
      "Get-Mailbox",
      { ResultSize: 1500 },
      { onWarning: (w) => warnings.push(w) },
    );
    expect(got).toHaveLength(1500);
    expect(server.requests.map((r) => r.headers.prefer)).toEqual([
      "odata.maxpagesize=1000",
      "odata.maxpagesize=500",
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/more results available/);
  });

  it("keeps raw rows when asked", async () => {
    server.setHandler(pagingHandler(1));
    expect(await client().invoke("Get-Mailbox", {}, { raw: true })).toEqual([
      { Name: "mbx0", "Name@odata.type": "#String" },
    ]);
  });

  it("never follows a nextLink to another origin (the token would go there)", async () => {
    server.setHandler((_req, res) =>
      sendJson(res, 200, {
        value: rows(0, 2),
        "@odata.nextLink": "https://evil.example.com/adminapi/beta/x/InvokeCommand?$skiptoken=2",
      }),
    );
    const seen: unknown[] = [];
    const error = await (async () => {
      for await (const row of client().stream("Get-Mailbox", { ResultSize: "Unlimited" })) seen.push(row);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as Error).message).toMatch(/evil\.example\.com/);
    expect(seen).toHaveLength(2);
    expect(server.requests).toHaveLength(1);
  });
});

describe("cancellation", () => {
  const listening = (signal: AbortSignal) => getEventListeners(signal, "abort").length;
  const clientWith = (breaker: CircuitBreaker) =>
    new ExchangeClient({
      exchangeEndpoint: server.origin,
      organization: ORG,
      tokenProvider: tokens,
      transport,
      breaker,
    });

  it("a caller that stops early aborts the next page on its way; the pages it read are not asked again", async () => {
    let arrived: () => void = () => undefined;
    const secondPageArrived = new Promise<void>((resolve) => (arrived = resolve));
    let closed: () => void = () => undefined;
    const secondPageClosed = new Promise<void>((resolve) => (closed = resolve));
    server.setHandler(
      pagingHandler(3000, {
        before: (req, res) => {
          if (!req.url.includes("$skiptoken")) return false;
          // Hold the lookahead: it is in flight when the caller stops.
          res.on("close", closed);
          arrived();
          return true;
        },
      }),
    );
    let seen = 0;
    for await (const _ of client().stream("Get-Mailbox", { ResultSize: "Unlimited" })) {
      if (++seen === 3) {
        await secondPageArrived;
        break;
      }
    }
    expect(server.requests.map((r) => r.url)).toEqual([PATH, `${PATH}?$skiptoken=1000`]);
    await secondPageClosed; // the client closed the request it no longer needs (else this test times out)
  });

  it("the caller's signal and an opening breaker still stop a request in flight", async () => {
    server.setHandler(() => undefined); // never answers
    const breaker = new CircuitBreaker(3);
    const c = clientWith(breaker);
    const interrupt = new AbortController();
    const interrupted = c.invoke("Get-Mailbox", {}, { signal: interrupt.signal });
    const cutOff = c.invoke("Get-Mailbox", {}, { signal: new AbortController().signal });
    await new Promise((resolve) => setTimeout(resolve, 20));
    interrupt.abort();
    await expect(interrupted).rejects.toMatchObject({ name: "AbortError" });
    const dropped = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    for (let i = 0; i < 3; i++) breaker.failure(dropped);
    await expect(cutOff).rejects.toMatchObject({ name: "CircuitOpenError" });
    expect(server.requests).toHaveLength(2);
  });

  it("calls leave no listener behind on the caller's signal or the run's breaker", async () => {
    server.setHandler(pagingHandler(2500));
    const breaker = new CircuitBreaker();
    const c = clientWith(breaker);
    const run = new AbortController();
    const rowsRead = await Promise.all(
      Array.from({ length: 12 }, () => c.invoke("Get-Mailbox", { ResultSize: 5 }, { signal: run.signal })),
    );
    expect(rowsRead.map((r) => r.length)).toEqual(Array(12).fill(5));
    let streamed = 0;
    for await (const _ of c.stream("Get-Mailbox", { ResultSize: "Unlimited" }, { signal: run.signal }))
      streamed++;
    expect(streamed).toBe(2500);
    for await (const _ of c.stream("Get-Mailbox", { ResultSize: "Unlimited" }, { signal: run.signal })) break;
    expect(listening(run.signal)).toBe(0);
    expect(listening(breaker.signal)).toBe(0);
  });
});

describe("retries", () => {
  it("429 waits exactly Retry-After; 503, 504 and a dropped connection are retried; each page once", async () => {
    // Faults on the second page: 429, 503, drop, 504, then success.
    const faults = ["429", "503", "drop", "504"];
    server.setHandler(
      pagingHandler(2500, {
        before: (req, res, socket) => {
          if (!req.url.includes("skiptoken=1000") || faults.length === 0) return false;
          const fault = faults.shift();
          if (fault === "drop") socket.destroy();
          else if (fault === "429")
            sendJson(res, 429, { error: { code: "TooManyRequests" } }, { "retry-after": "2.5" });
          else sendJson(res, Number(fault), { error: { code: "ServiceUnavailable" } });
          return true;
        },
      }),
    );
    const c = client();
    const got = await c.invoke("Get-Mailbox", { ResultSize: "Unlimited" });
    expect(got.map((r) => r.Name)).toEqual(Array.from({ length: 2500 }, (_, i) => `mbx${i}`));
    expect(waits[0]).toBe(2500);
    expect(waits).toHaveLength(4);
    expect(c.stats.retries).toBe(4);
    // The retried page re-sent the same page request: same URL, body and client-request-id.
    const page2 = server.requests.filter((r) => r.url.includes("skiptoken=1000"));
    expect(page2).toHaveLength(5);
    expect(new Set(server.requests.map((r) => r.headers["client-request-id"])).size).toBe(1);
    expect(c.stats.requests).toBe(7);
  });

  it("retries a 400 naming a transient exception, but not a plain 400", async () => {
    let first = true;
    server.setHandler((_req, res) => {
      if (first) {
        first = false;
        sendJson(res, 400, {
          error: {
            code: "BadRequest",
            details: [{ message: "Ex1|Microsoft.Exchange.Net.ServerBusyException|busy" }],
          },
        });
        return;
      }
      sendJson(res, 400, {
        error: {
          code: "BadRequest",
          message: "Error executing cmdlet",
          details: [{ message: "A parameter cannot be found that matches parameter name 'Bogus'." }],
        },
      });
    });
    const error = await client()
      .invoke("Get-Mailbox", { Bogus: "x" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).message).toMatch(/parameter name 'Bogus'/);
    expect(server.requests).toHaveLength(2);
  });

  it("gives up with a TransientError (exit 6) saying how many attempts", async () => {
    server.setHandler((_req, res) => sendJson(res, 503, {}, { "request-id": "r-503" }));
    const error = (await client({ maxAttempts: 3 })
      .invoke("Get-Mailbox")
      .catch((e: unknown) => e)) as TransientError;
    expect(error).toBeInstanceOf(TransientError);
    expect(error.exitCode).toBe(6);
    expect(error.attempts).toBe(3);
    expect(error.message).toMatch(/3 attempts/);
    expect(error.requestId).toBe("r-503");
    expect(server.requests).toHaveLength(3);
  });

  it("refreshes the token once on a 401 and retries at once", async () => {
    server.setHandler((req, res) => {
      if (req.headers.authorization === "Bearer tok-1")
        sendJson(res, 401, { error: { code: "Unauthorized" } });
      else pagingHandler(1)(req, res, undefined as never);
    });
    const got = await client().invoke("Get-Mailbox");
    expect(got).toHaveLength(1);
    expect(tokens.forced).toBe(1);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(["Bearer tok-1", "Bearer tok-2"]);
    expect(waits).toEqual([]);
  });

  it("a 403 (role not applied to this token) gets a fresh token, not only a 401", async () => {
    // Exchange refuses a token minted before the role reached it for the token's lifetime; a new one works.
    server.setHandler((req, res) => {
      if (req.headers.authorization === "Bearer tok-1") {
        res.writeHead(403, { "x-ms-diagnostics": '2000008;reason="role not supported"' });
        res.end();
      } else pagingHandler(1)(req, res, undefined as never);
    });
    const got = await client({ maxAttempts: 1 }).invoke("Get-OrganizationConfig");
    expect(got).toHaveLength(1);
    expect(tokens.forced).toBe(1);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(["Bearer tok-1", "Bearer tok-2"]);
  });

  it("a 403 that survives the fresh token is diagnosed after exactly one refresh", async () => {
    server.setHandler((_req, res) =>
      sendJson(res, 403, {
        error: { code: "Forbidden", message: "User is not allowed to call Set-Mailbox" },
      }),
    );
    const error = await client()
      .invoke("Set-Mailbox", { Identity: "a" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthorizationError);
    expect((error as Error).message).toMatch(/not allowed to call Set-Mailbox/);
    expect(tokens.forced).toBe(1);
    expect(server.requests).toHaveLength(2);
  });

  it("a 401 is refreshed and then diagnosed even when only one attempt is allowed", async () => {
    server.setHandler((_req, res) => sendJson(res, 401, { error: { code: "Unauthorized", message: "no" } }));
    const error = await client({ maxAttempts: 1 })
      .invoke("Get-Mailbox")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthorizationError);
    expect(tokens.forced).toBe(1);
    expect(server.requests).toHaveLength(2);
  });
});

describe("cmdlet errors inside a 200", () => {
  it("delivers rows, then raises PartialResultError; or hands them to onError", async () => {
    server.setHandler((_req, res) =>
      sendJson(res, 200, {
        value: rows(0, 1),
        "@adminapi.warnings": ["careful"],
        "@adminapi.errors": ["object 'b' not found"],
      }),
    );
    const error = await client()
      .invoke("Get-Mailbox", { Identity: ["a", "b"] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartialResultError);
    expect((error as Error).message).toMatch(/object 'b' not found/);
    const errors: string[] = [];
    const warnings: string[] = [];
    const got = await client().invoke(
      "Get-Mailbox",
      {},
      { onError: (e) => errors.push(e), onWarning: (w) => warnings.push(w) },
    );
    expect(got).toHaveLength(1);
    expect(errors).toEqual(["object 'b' not found"]);
    expect(warnings).toEqual(["careful"]);
  });
});

describe("ExchangeClient onCallEnd (per-call stats for logs)", () => {
  function observed(retry: ConstructorParameters<typeof ExchangeClient>[0]["retry"] = {}) {
    const calls: CmdletCallInfo[] = [];
    const c = new ExchangeClient({
      exchangeEndpoint: server.origin,
      organization: ORG,
      tokenProvider: tokens,
      transport,
      retry: { sleep: async () => {}, random: () => 0.5, ...retry },
      onCallEnd: (info) => calls.push(info),
    });
    return { c, calls };
  }

  it("reports one record per call: rows, pages, requests, its own retries, request ids, client-request-id", async () => {
    let throttled = false;
    server.setHandler(
      pagingHandler(2500, {
        before: (req, res) => {
          if (throttled || !req.url.includes("skiptoken=1000")) return false;
          throttled = true;
          sendJson(
            res,
            429,
            { error: { code: "TooManyRequests" } },
            { "retry-after": "1", "request-id": "r-429" },
          );
          return true;
        },
      }),
    );
    const { c, calls } = observed();
    await c.invoke("Get-Mailbox", { ResultSize: "Unlimited" });
    await c.invoke("Get-Recipient", { ResultSize: 10 });
    expect(calls).toHaveLength(2);
    const [first, second] = calls as [CmdletCallInfo, CmdletCallInfo];
    expect(first).toMatchObject({
      cmdlet: "Get-Mailbox",
      status: "ok",
      complete: true,
      rows: 2500,
      pages: 3,
      requests: 4,
      retries: 1,
      cmdletErrors: 0,
      connectionId: c.connectionId,
      requestIds: ["srv-1", "r-429", "srv-3", "srv-4"],
    });
    expect(first.clientRequestId).toBe(server.requests[0]!.headers["client-request-id"]);
    expect(first.error).toBeUndefined();
    expect(typeof first.durationMs).toBe("number");
    // Counters are per call; the connection's stats still add up.
    expect(second).toMatchObject({ cmdlet: "Get-Recipient", rows: 10, pages: 1, requests: 1, retries: 0 });
    expect(second.clientRequestId).not.toBe(first.clientRequestId);
    expect(c.stats).toMatchObject({ requests: 5, retries: 1 });
  });

  it("keeps only the last few request ids", async () => {
    server.setHandler(pagingHandler(8));
    const { c, calls } = observed();
    await c.invoke("Get-Mailbox", { ResultSize: "Unlimited" }, { pageSize: 1 });
    expect(calls[0]).toMatchObject({ pages: 8, requests: 8 });
    expect(calls[0]!.requestIds).toEqual(["srv-4", "srv-5", "srv-6", "srv-7", "srv-8"]);
    expect(MAX_REPORTED_REQUEST_IDS).toBe(5);
  });

  it("a failed call carries the typed error; a call stopped early says so; cmdlet errors make it an error", async () => {
    server.setHandler((_req, res) =>
      sendJson(res, 400, { error: { code: "BadRequest", message: "nope" } }, { "request-id": "r-bad" }),
    );
    const { c, calls } = observed({ maxAttempts: 1 });
    const error = await c.invoke("Get-Mailbox").catch((e: unknown) => e);
    expect(calls[0]).toMatchObject({
      status: "error",
      complete: false,
      rows: 0,
      pages: 0,
      requestIds: ["r-bad"],
    });
    expect(calls[0]!.error).toBe(error);

    server.setHandler(pagingHandler(3000));
    for await (const _ of c.stream("Get-Mailbox", { ResultSize: "Unlimited" })) break;
    expect(calls[1]).toMatchObject({ status: "ok", complete: false, rows: 1, pages: 1 });

    server.setHandler((_req, res) =>
      sendJson(res, 200, { value: rows(0, 1), "@adminapi.errors": ["object 'b' not found"] }),
    );
    await c.invoke("Get-Mailbox", {}, { onError: () => {} });
    expect(calls[2]).toMatchObject({ status: "error", complete: true, rows: 1, cmdletErrors: 1 });
    expect(calls[2]!.error).toBeUndefined();
  });

  it("an observer that throws does not change the call's outcome", async () => {
    server.setHandler(pagingHandler(2));
    const c = new ExchangeClient({
      exchangeEndpoint: server.origin,
      organization: ORG,
      tokenProvider: tokens,
      transport,
      onCallEnd: () => {
        throw new Error("log sink gone");
      },
    });
    expect(await c.invoke("Get-Mailbox")).toHaveLength(2);
  });
});
