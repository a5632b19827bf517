import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createAppCertificate,
  fakeJwt,
  type RecordingServer,
  sendJson,
  startRecordingServer,
  type TestCertificate,
} from "../../test/helpers/invoke-wire.js";
import { ServerError } from "../errors.js";
import { HttpTransport } from "../http/transport.js";
import { connectExchangeOnline } from "./connect.js";

/**
 * A regional 302 changes the host InvokeCommand goes to, never the token's resource (docs/invoke.md,
 * "Resource and host"). Two local HTTPS servers: `front` plays identity and the front door, `region` the
 * regional host it redirects to. The certificate sign-in is real MSAL against `front`.
 */
const APP_ID = "11111111-2222-3333-4444-555555555555";
const ORG = "contoso.onmicrosoft.com";
const PATH = `/adminapi/beta/${ORG}/InvokeCommand`;
const RESOURCE = "https://outlook.office365.com";
const token = fakeJwt({ roles: ["Exchange.ManageAsApp"], exp: 4_000_000_000 });

let front: RecordingServer;
let region: RecordingServer;
let cert: TestCertificate;
/** where the front door sends InvokeCommand */
let location: () => string;

beforeAll(async () => {
  [front, region, cert] = await Promise.all([
    startRecordingServer("front-door"),
    startRecordingServer("regional-host"),
    createAppCertificate(),
  ]);
  front.setHandler((req, res) => {
    if (req.url.includes("/.well-known/openid-configuration")) {
      return sendJson(res, 200, {
        issuer: `${front.origin}/${ORG}/v2.0`,
        authorization_endpoint: `${front.origin}/${ORG}/oauth2/v2.0/authorize`,
        token_endpoint: `${front.origin}/${ORG}/oauth2/v2.0/token`,
        jwks_uri: `${front.origin}/${ORG}/discovery/v2.0/keys`,
      });
    }
    if (req.url.includes("/oauth2/v2.0/token")) {
      return sendJson(res, 200, { token_type: "Bearer", expires_in: 3599, access_token: token });
    }
    res.writeHead(302, { location: location() });
    res.end();
  });
  region.setHandler((req, res) => {
    const skip = Number(new URL(req.url, region.origin).searchParams.get("$skiptoken") ?? "0");
    const body: Record<string, unknown> = { value: [{ Name: `row${skip}` }] };
    if (skip < 1) body["@odata.nextLink"] = `${region.origin}${PATH}?$skiptoken=1`;
    sendJson(res, 200, body);
  });
});
afterAll(async () => {
  await Promise.all([front.close(), region.close()]);
});
beforeEach(() => {
  front.requests.length = 0;
  region.requests.length = 0;
});

async function connect(transport: HttpTransport) {
  return connectExchangeOnline({
    appId: APP_ID,
    organization: ORG,
    certificate: { certificatePem: cert.certificatePem, privateKeyPem: cert.privateKeyPem },
    endpoints: { authorityHost: front.origin, exchangeEndpoint: front.origin, exchangeResource: RESOURCE },
    env: {},
    transport,
  });
}

const invokes = (s: RecordingServer) => s.requests.filter((r) => r.url.startsWith(PATH));

describe("regional redirect of InvokeCommand", () => {
  it("is followed with the same body and token; the scope stays the resource; later calls go to the region", async () => {
    location = () => `${region.origin}${PATH}`;
    const transport = new HttpTransport({ caPem: [front.caPem, region.caPem] });
    const exo = await connect(transport);
    const rows = await exo.invoke("Get-Mailbox", { ResultSize: "Unlimited" });
    expect(rows.map((r) => r.Name)).toEqual(["row0", "row1"]);

    const tokenRequests = front.requests.filter((r) => r.url.includes("/oauth2/v2.0/token"));
    expect(tokenRequests).toHaveLength(1);
    expect(new URLSearchParams(tokenRequests[0]!.body).get("scope")).toBe(`${RESOURCE}/.default`);

    const [redirected] = invokes(front);
    const [first, second] = invokes(region);
    expect(first!.body).toBe(redirected!.body);
    expect(JSON.parse(first!.body).CmdletInput.CmdletName).toBe("Get-Mailbox");
    expect(first!.headers.authorization).toBe(`Bearer ${token}`);
    expect(redirected!.headers.authorization).toBe(`Bearer ${token}`);
    expect(second!.url).toBe(`${PATH}?$skiptoken=1`);

    // Pinned: the next call goes straight to the regional host, still with the one token.
    await exo.invoke("Get-OrganizationConfig");
    expect(invokes(front)).toHaveLength(1);
    expect(invokes(region)).toHaveLength(4); // two pages each
    expect(JSON.parse(invokes(region)[2]!.body).CmdletInput.CmdletName).toBe("Get-OrganizationConfig");
    expect(exo.stats.tokenRequests).toBe(1);
    await exo.disconnect();
    transport.close();
  });

  it("is refused when it points at another host: the token is never sent there", async () => {
    location = () => `https://localhost:${new URL(region.origin).port}${PATH}`;
    const transport = new HttpTransport({ caPem: [front.caPem, region.caPem] });
    const exo = await connect(transport);
    const error = await exo.invoke("Get-Mailbox").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).message).toMatch(/redirected Get-Mailbox to https:\/\/localhost:\d+/);
    expect(region.requests).toHaveLength(0);
    await exo.disconnect();
    transport.close();
  });

  it("stops after a bounded number of hops", async () => {
    location = () => `${front.origin}${PATH}`; // the front door redirecting to itself
    const transport = new HttpTransport({ caPem: [front.caPem] });
    const exo = await connect(transport);
    await expect(exo.invoke("Get-Mailbox")).rejects.toBeInstanceOf(ServerError);
    expect(invokes(front)).toHaveLength(6);
    await exo.disconnect();
    transport.close();
  });
});
