import { describe, expect, it } from "vitest";
import { fakeJwt } from "../../test/helpers/invoke-wire.js";
import { AuthenticationError } from "../errors.js";
import { CachingTokenProvider, REFRESH_AHEAD_MS } from "./cache.js";
import { type LocalGet, ManagedIdentityTokenProvider } from "./managed-identity.js";
import { tokenRights } from "./roles.js";
import { StaticTokenProvider } from "./static-token.js";
import type { AccessToken, TokenProvider } from "./types.js";

class CountingProvider implements TokenProvider {
  readonly kind = "counting";
  calls: Array<{ forceRefresh?: boolean } | undefined> = [];
  constructor(private readonly expiresAt: () => number) {}
  async getToken(options?: { forceRefresh?: boolean }): Promise<AccessToken> {
    this.calls.push(options);
    return { token: `t${this.calls.length}`, expiresOnTimestamp: this.expiresAt() };
  }
}

describe("CachingTokenProvider", () => {
  it("serves one token until 5 minutes before expiry, then refreshes", async () => {
    let now = 0;
    const inner = new CountingProvider(() => now + 3_600_000);
    const cache = new CachingTokenProvider(inner, () => now);
    expect((await cache.getToken()).token).toBe("t1");
    now = 3_600_000 - REFRESH_AHEAD_MS - 1;
    expect((await cache.getToken()).token).toBe("t1");
    now = 3_600_000 - REFRESH_AHEAD_MS;
    expect((await cache.getToken()).token).toBe("t2");
    expect(cache.fetches).toBe(2);
  });

  it("shares one refresh between concurrent callers and honours forceRefresh", async () => {
    const inner = new CountingProvider(() => 10_000_000);
    const cache = new CachingTokenProvider(inner, () => 0);
    const tokens = await Promise.all(Array.from({ length: 8 }, () => cache.getToken()));
    expect(new Set(tokens.map((t) => t.token))).toEqual(new Set(["t1"]));
    expect(inner.calls).toHaveLength(1);
    expect((await cache.getToken({ forceRefresh: true })).token).toBe("t2");
    expect(inner.calls[1]).toEqual({ forceRefresh: true });
  });
});

describe("StaticTokenProvider", () => {
  it("returns the caller's token with the JWT's expiry, and refuses it once expired", async () => {
    const token = fakeJwt({ exp: 2_000 });
    expect(await new StaticTokenProvider(token, () => 1_000_000).getToken()).toEqual({
      token,
      expiresOnTimestamp: 2_000_000,
    });
    await expect(new StaticTokenProvider(token, () => 2_000_000).getToken()).rejects.toBeInstanceOf(
      AuthenticationError,
    );
  });
});

describe("ManagedIdentityTokenProvider", () => {
  const ok =
    (calls: Array<{ url: string; headers: Record<string, string> }>): LocalGet =>
    async (url, headers) => {
      calls.push({ url, headers });
      return { status: 200, body: JSON.stringify({ access_token: "mi-token", expires_on: "1900000000" }) };
    };

  it("asks IMDS for the Exchange resource with Metadata: true (system-assigned)", async () => {
    const calls: Array<{ url: string; headers: Record<string, string> }> = [];
    const p = new ManagedIdentityTokenProvider({
      resource: "https://outlook.office365.com",
      env: {},
      get: ok(calls),
    });
    expect(await p.getToken()).toEqual({ token: "mi-token", expiresOnTimestamp: 1_900_000_000_000 });
    const url = new URL(calls[0]!.url);
    expect(url.origin).toBe("http://169.254.169.254");
    expect(url.pathname).toBe("/metadata/identity/oauth2/token");
    expect(url.searchParams.get("resource")).toBe("https://outlook.office365.com/");
    expect(url.searchParams.get("api-version")).toBe("2018-02-01");
    expect(url.searchParams.has("client_id")).toBe(false);
    expect(calls[0]!.headers).toEqual({ Metadata: "true" });
  });

  it("uses IDENTITY_ENDPOINT + IDENTITY_HEADER on App Service, with a user-assigned client id", async () => {
    const calls: Array<{ url: string; headers: Record<string, string> }> = [];
    const p = new ManagedIdentityTokenProvider({
      resource: "https://outlook.office365.com",
      clientId: "99999999-0000-0000-0000-000000000000",
      env: { IDENTITY_ENDPOINT: "http://127.0.0.1:41000/msi/token", IDENTITY_HEADER: "h-secret" },
      get: ok(calls),
    });
    await p.getToken();
    const url = new URL(calls[0]!.url);
    expect(url.origin + url.pathname).toBe("http://127.0.0.1:41000/msi/token");
    expect(url.searchParams.get("api-version")).toBe("2019-08-01");
    expect(url.searchParams.get("client_id")).toBe("99999999-0000-0000-0000-000000000000");
    expect(calls[0]!.headers).toEqual({ "X-IDENTITY-HEADER": "h-secret" });
  });

  it("refuses a non-local IDENTITY_ENDPOINT (the header must not leak)", async () => {
    const calls: Array<{ url: string; headers: Record<string, string> }> = [];
    const p = new ManagedIdentityTokenProvider({
      resource: "https://outlook.office365.com",
      env: { IDENTITY_ENDPOINT: "http://evil.example.com/token", IDENTITY_HEADER: "h" },
      get: ok(calls),
    });
    await expect(p.getToken()).rejects.toBeInstanceOf(AuthenticationError);
    expect(calls).toHaveLength(0);
  });

  it("retries a 500 from IMDS, and reports a 400 as an AuthenticationError", async () => {
    let n = 0;
    const flaky: LocalGet = async () => {
      n++;
      return n === 1
        ? { status: 500, body: "" }
        : { status: 200, body: JSON.stringify({ access_token: "x", expires_in: "3599" }) };
    };
    const p = new ManagedIdentityTokenProvider({
      resource: "https://outlook.office365.com",
      env: {},
      get: flaky,
      retry: { sleep: async () => {} },
      now: () => 0,
    });
    expect(await p.getToken()).toEqual({ token: "x", expiresOnTimestamp: 3_599_000 });
    const refused = new ManagedIdentityTokenProvider({
      resource: "https://outlook.office365.com",
      env: {},
      get: async () => ({
        status: 400,
        body: JSON.stringify({ error: "invalid_request", error_description: "Identity not found" }),
      }),
    });
    await expect(refused.getToken()).rejects.toThrow(/Identity not found/);
  });
});

describe("tokenRights", () => {
  it("reads roles and maps wids to Exchange role names", () => {
    const r = tokenRights(
      fakeJwt({
        appid: "a",
        tid: "t",
        roles: ["Exchange.ManageAsApp"],
        wids: ["f2ef992c-3afb-46b9-b7cf-a126ee74c451", "0997a1d0-0d1d-4acb-b408-d5ca73121e90"],
      }),
    );
    expect(r.hasManageAsApp).toBe(true);
    expect(r.exchangeRoles).toEqual(["Global Reader"]);
    expect(r.readOnly).toBe(true);
    expect(tokenRights("opaque").readable).toBe(false);
  });
});
