import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createAppCertificate,
  fakeJwt,
  type RecordingServer,
  sendJson,
  startRecordingServer,
  type TestCertificate,
} from "../../test/helpers/invoke-wire.js";
import { UsageError } from "../errors.js";
import { type HttpRequest, HttpTransport } from "../http/transport.js";
import { connectExchangeOnline } from "./connect.js";

const APP_ID = "11111111-2222-3333-4444-555555555555";
const ORG = "contoso.onmicrosoft.com";

/** A transport that writes down every URL it is asked for, before anything leaves the process. */
class RecordingTransport extends HttpTransport {
  readonly urls: string[] = [];
  override request(req: HttpRequest) {
    this.urls.push(String(req.url));
    return super.request(req);
  }
}

let server: RecordingServer;
let cert: TestCertificate;
const token = fakeJwt({ roles: ["Exchange.ManageAsApp"], exp: 4_000_000_000 });

beforeAll(async () => {
  [server, cert] = await Promise.all([startRecordingServer(), createAppCertificate()]);
  server.setHandler((req, res) => {
    if (req.url.includes("/.well-known/openid-configuration")) {
      return sendJson(res, 200, {
        issuer: `${server.origin}/${ORG}/v2.0`,
        authorization_endpoint: `${server.origin}/${ORG}/oauth2/v2.0/authorize`,
        token_endpoint: `${server.origin}/${ORG}/oauth2/v2.0/token`,
        jwks_uri: `${server.origin}/${ORG}/discovery/v2.0/keys`,
      });
    }
    if (req.url.includes("/oauth2/v2.0/token")) {
      return sendJson(res, 200, { token_type: "Bearer", expires_in: 3599, access_token: token });
    }
    const skip = Number(new URL(req.url, server.origin).searchParams.get("$skiptoken") ?? "0");
    const body: Record<string, unknown> = { value: [{ Name: `row${skip}` }, { Name: `row${skip + 1}` }] };
    if (skip < 4)
      body["@odata.nextLink"] = `${server.origin}/adminapi/beta/${ORG}/InvokeCommand?$skiptoken=${skip + 2}`;
    sendJson(res, 200, body);
  });
});
afterAll(async () => {
  await server.close();
});

describe("connectExchangeOnline", () => {
  it("with custom endpoints, no request goes to any other host (identity and Exchange alike)", async () => {
    const transport = new RecordingTransport({ caPem: [server.caPem] });
    const exo = await connectExchangeOnline({
      appId: APP_ID,
      organization: ORG,
      certificate: { certificatePem: cert.certificatePem, privateKeyPem: cert.privateKeyPem },
      endpoints: {
        authorityHost: server.origin,
        graphEndpoint: server.origin,
        exchangeEndpoint: server.origin,
      },
      env: {},
      transport,
    });
    const rows = await exo.invoke("Get-Mailbox", { ResultSize: "Unlimited" }, { pageSize: 2 });
    await exo.disconnect();
    transport.close();
    expect(rows.map((r) => r.Name)).toEqual(["row0", "row1", "row2", "row3", "row4", "row5"]);
    expect(transport.urls.length).toBeGreaterThanOrEqual(5);
    for (const url of transport.urls) expect(new URL(url).origin).toBe(server.origin);
    expect(exo.stats).toMatchObject({ tokenRequests: 1, requests: 3, retries: 0 });
    expect(exo.certificate?.thumbprint).toMatch(/^[0-9A-F]{40}$/);
  });

  it("streams with one page of lookahead, never more, however slowly the caller consumes", async () => {
    const transport = new RecordingTransport({ caPem: [server.caPem] });
    const exo = await connectExchangeOnline({
      appId: APP_ID,
      organization: ORG,
      accessToken: token,
      endpoints: { authorityHost: server.origin, exchangeEndpoint: server.origin },
      env: {},
      transport,
    });
    const iterator = exo
      .stream("Get-Mailbox", { ResultSize: "Unlimited" }, { pageSize: 2 })
      [Symbol.asyncIterator]();
    await iterator.next(); // page 1 read; page 2 requested ahead
    await iterator.next();
    expect(exo.stats.requests).toBe(2);
    await iterator.next(); // first row of page 2; page 3 requested ahead
    expect(exo.stats.requests).toBe(3);
    await iterator.return?.();
    // A caller-supplied token: no identity request at all.
    expect(transport.urls.every((u) => u.includes("/InvokeCommand"))).toBe(true);
    transport.close();
  });

  it("refuses bad input before any request", async () => {
    const transport = new RecordingTransport({ caPem: [server.caPem] });
    const base = { appId: APP_ID, organization: ORG, transport, env: {} };
    await expect(connectExchangeOnline({ ...base })).rejects.toThrow(/No credential/);
    await expect(
      connectExchangeOnline({ ...base, accessToken: token, managedIdentity: true }),
    ).rejects.toThrow(/Conflicting credentials: managedIdentity and accessToken/);
    await expect(connectExchangeOnline({ ...base, appId: "x", accessToken: token })).rejects.toBeInstanceOf(
      UsageError,
    );
    await expect(
      connectExchangeOnline({ ...base, organization: "contoso", accessToken: token }),
    ).rejects.toBeInstanceOf(UsageError);
    await expect(
      connectExchangeOnline({
        ...base,
        accessToken: token,
        endpoints: { exchangeEndpoint: "http://127.0.0.1:1" },
      }),
    ).rejects.toThrow(/https/);
    await expect(
      connectExchangeOnline({ ...base, certificate: { certificatePem: "nope", privateKeyPem: "nope" } }),
    ).rejects.toBeInstanceOf(UsageError);
    expect(transport.urls).toEqual([]);
    transport.close();
  });
});
