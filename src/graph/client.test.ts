import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { TransientError } from "../errors.js";
import type { HttpRequest, HttpResponse, HttpTransport } from "../http/transport.js";
import { GraphClient } from "./client.js";
import { GraphError } from "./errors.js";

type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

/** A transport that answers from a script and records what was sent. */
function scripted(replies: Reply[]) {
  const sent: HttpRequest[] = [];
  const transport = {
    async request(req: HttpRequest): Promise<HttpResponse> {
      sent.push(req);
      const r = replies.shift();
      if (!r) throw new Error("no more scripted replies");
      if (r instanceof Error) throw r;
      const text = r.body === undefined ? "" : JSON.stringify(r.body);
      return {
        status: r.status,
        headers: r.headers ?? {},
        body: new PassThrough() as unknown as HttpResponse["body"],
        text: async () => text,
        json: async <T>() => JSON.parse(text) as T,
      };
    },
  } as unknown as HttpTransport;
  return { transport, sent };
}

function client(replies: Reply[]) {
  const s = scripted(replies);
  const sleeps: number[] = [];
  const graph = new GraphClient({
    endpoint: "https://graph.example",
    transport: s.transport,
    getToken: async () => "admin-token",
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
  });
  return { graph, sent: s.sent, sleeps };
}

describe("GraphClient", () => {
  it("sends the bearer token and JSON to <endpoint>/v1.0 and parses the answer", async () => {
    const { graph, sent } = client([{ status: 201, body: { id: "1" } }]);
    const res = await graph.post<{ id: string }>("/servicePrincipals", { appId: "a" });
    expect(res).toEqual({ status: 201, body: { id: "1" } });
    expect(String(sent[0]!.url)).toBe("https://graph.example/v1.0/servicePrincipals");
    expect(sent[0]!.headers).toMatchObject({
      authorization: "Bearer admin-token",
      "content-type": "application/json",
    });
    expect(sent[0]!.body).toBe('{"appId":"a"}');
  });

  it("waits as long as Retry-After says on 429, then succeeds", async () => {
    const { graph, sleeps } = client([
      { status: 429, headers: { "retry-after": "7" } },
      { status: 200, body: { value: [] } },
    ]);
    await graph.list("/applications");
    expect(sleeps).toEqual([7000]);
  });

  it("caps an absurd Retry-After", async () => {
    const { graph, sleeps } = client([
      { status: 503, headers: { "retry-after": "99999" } },
      { status: 200, body: {} },
    ]);
    await graph.get("/organization");
    expect(sleeps).toEqual([120_000]);
  });

  it("gives up on repeated 503 after the retry budget with a TransientError", async () => {
    const { graph, sent } = client(Array.from({ length: 5 }, () => ({ status: 503 })));
    const error = await graph.get("/organization").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(sent).toHaveLength(5);
  });

  it("retries a dropped connection", async () => {
    const { graph } = client([
      Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }),
      { status: 200, body: { ok: true } },
    ]);
    expect(await graph.get("/organization")).toEqual({ ok: true });
  });

  it("turns the Graph error envelope into a GraphError with code, details and request id", async () => {
    const { graph } = client([
      {
        status: 400,
        body: {
          error: {
            code: "Request_BadRequest",
            message: "The appId 'x' of the service principal does not reference a valid application object.",
            details: [{ code: "NoBackingApplicationObject", target: "appId" }],
            innerError: { "request-id": "rid-1", date: "2026-01-01T00:00:00" },
          },
        },
      },
    ]);
    const error = (await graph.post("/servicePrincipals", {}).catch((e: unknown) => e)) as GraphError;
    expect(error).toBeInstanceOf(GraphError);
    expect(error.code).toBe("Request_BadRequest");
    expect(error.detailCodes).toEqual(["NoBackingApplicationObject"]);
    expect(error.requestId).toBe("rid-1");
    expect(error.matches("NoBackingApplicationObject")).toBe(true);
    expect(error.exitCode).toBe(5);
  });

  it("follows nextLink on the same origin and refuses to send the token anywhere else", async () => {
    const { graph, sent } = client([
      {
        status: 200,
        body: { value: [1], "@odata.nextLink": "https://graph.example/v1.0/applications?$skiptoken=2" },
      },
      {
        status: 200,
        body: { value: [2], "@odata.nextLink": "https://evil.example/v1.0/applications?$skiptoken=3" },
      },
    ]);
    await expect(graph.list("/applications")).rejects.toThrow(
      /Refusing to send the Graph token to https:\/\/evil\.example/,
    );
    expect(sent.map((r) => new URL(String(r.url)).origin)).toEqual([
      "https://graph.example",
      "https://graph.example",
    ]);
  });

  it("find() maps 404 to undefined", async () => {
    const { graph } = client([
      { status: 404, body: { error: { code: "Request_ResourceNotFound", message: "gone" } } },
    ]);
    expect(await graph.find("/applications/x")).toBeUndefined();
  });
});
