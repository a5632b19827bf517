import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AuthenticationError, exitCodeFor, ServerError, TransientError } from "../src/errors.js";
import { readBackupSnapshot, resolveBackupTarget } from "../src/vb365/backup.js";
import { normalizeServer, Vb365Client, type Vb365ClientOptions } from "../src/vb365/client.js";
import { FingerprintMismatchError, UntrustedServerError } from "../src/vb365/tls.js";
import { openssl } from "./helpers/cert-fixtures.js";
import {
  type FakeVb365,
  ORG_ID,
  REPO_ID,
  sampleData,
  startFakeVb365,
  TENANT_ID,
} from "./helpers/vb365-fake.js";

const PASSWORD = "P@ss w0rd&=x";
let fake: FakeVb365 | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const noWait = { sleep: async () => {}, random: () => 0 };
function client(f: FakeVb365, extra: Partial<Vb365ClientOptions> = {}) {
  return new Vb365Client({
    server: f.url,
    username: "DOMAIN\\svc-report",
    password: PASSWORD,
    trust: { caPem: [f.certPem] },
    retry: { ...noWait, maxAttempts: 3 },
    ...extra,
  });
}

describe("VB365 sign-in", () => {
  it("posts exactly the password grant with the antiforgery switch, then uses the bearer token", async () => {
    fake = await startFakeVb365(sampleData());
    const c = client(fake);
    await c.get("/Organizations", { offset: 0, limit: 30 });
    const [token, get] = fake.requests;
    expect(token!.method).toBe("POST");
    expect(token!.path).toBe("/v8/token");
    expect(token!.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(token!.body).toBe(
      "grant_type=password&username=DOMAIN%5Csvc-report&password=P%40ss+w0rd%26%3Dx&disable_antiforgery_token=true",
    );
    expect(get!.path).toBe("/v8/Organizations");
    expect(get!.query.toString()).toBe("offset=0&limit=30");
    expect(get!.headers.authorization).toBe(`Bearer ${fake.issued[0]}`);
    await c.logout();
    const logout = fake.requests.at(-1)!;
    expect([logout.method, logout.path, logout.headers.authorization]).toEqual([
      "POST",
      "/v8/token/logout",
      `Bearer ${fake.issued[0]}`,
    ]);
    expect(c.stats.tokenRequests).toBe(1);
  });

  it("refreshes before expiry (expires_in) with the refresh grant, antiforgery switch included", async () => {
    let now = 1_000_000;
    fake = await startFakeVb365(sampleData(), { expiresIn: 120, now: () => now });
    const c = client(fake, { now: () => now });
    await c.get("/Organizations");
    now += 100_000; // 100 s of a 120 s token: inside the refresh margin (30 s), not yet expired
    await c.get("/Organizations");
    const grants = fake.requests.filter((r) => r.path === "/v8/token");
    expect(grants).toHaveLength(2);
    expect(grants[1]!.body).toMatch(
      /^grant_type=refresh_token&refresh_token=rt-[0-9a-f-]{36}&disable_antiforgery_token=true$/,
    );
    expect(fake.requests.at(-1)!.headers.authorization).toBe(`Bearer ${fake.issued[1]}`);
    expect(c.stats).toMatchObject({ tokenRequests: 2, refreshes: 1 });
  });

  it("answers a 401 in the middle of a run (token expired early) with one refresh and a repeat", async () => {
    fake = await startFakeVb365(sampleData());
    const c = client(fake);
    await c.get("/Organizations");
    fake.expireAll();
    const body = (await c.get("/Organizations")) as { results: unknown[] };
    expect(body.results).toHaveLength(2);
    expect(fake.requests.map((r) => `${r.method} ${r.path} ${r.body.split("&")[0]}`)).toEqual([
      "POST /v8/token grant_type=password",
      "GET /v8/Organizations ",
      "GET /v8/Organizations ",
      "POST /v8/token grant_type=refresh_token",
      "GET /v8/Organizations ",
    ]);
  });

  it("waits out a throttled token endpoint (429) instead of failing", async () => {
    fake = await startFakeVb365(sampleData());
    fake.throttleTokens = 1;
    const c = client(fake);
    await c.signIn();
    expect(fake.requests.filter((r) => r.path === "/v8/token")).toHaveLength(2);
    expect(c.stats.retries).toBe(1);
  });

  it("wrong password: AuthenticationError (exit 3) saying what to check, and never the password", async () => {
    fake = await startFakeVb365(sampleData());
    const c = new Vb365Client({
      server: fake.url,
      username: "DOMAIN\\svc-report",
      password: "wrong-Secret-123",
      trust: { caPem: [fake.certPem] },
    });
    const error = await c.signIn().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(exitCodeFor(error)).toBe(3);
    const e = error as AuthenticationError;
    expect(e.message).toContain("refused the sign-in (HTTP 400): Invalid user name or password.");
    expect(e.hint).toContain("VB365_PASSWORD");
    expect(JSON.stringify({ m: e.message, h: e.hint, j: e.toJSON() })).not.toContain("wrong-Secret-123");
  });

  it("an unreachable server is exit 6 with what to check", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const c = new Vb365Client({
      server: `https://127.0.0.1:${port}`,
      username: "u",
      password: "p",
      retry: { ...noWait, maxAttempts: 2 },
    });
    const error = await c.signIn().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(exitCodeFor(error)).toBe(6);
    expect((error as TransientError).message).toContain("cannot be reached");
    expect((error as TransientError).hint).toContain("REST");
  });
});

describe("VB365 TLS trust", () => {
  const fingerprintByOpenssl = (pem: string) =>
    openssl(["x509", "-noout", "-fingerprint", "-sha256"], { input: pem })
      .trim()
      .replace(/^.*Fingerprint=/i, "");

  it("an untrusted certificate: no request is sent, the error prints the presented fingerprint and the flag", async () => {
    fake = await startFakeVb365(sampleData());
    const c = new Vb365Client({ server: fake.url, username: "u", password: PASSWORD });
    const error = await c.signIn().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UntrustedServerError);
    expect(exitCodeFor(error)).toBe(2);
    const expected = fingerprintByOpenssl(fake.certPem);
    expect((error as UntrustedServerError).message).toContain(expected);
    expect((error as UntrustedServerError).hint).toContain(`--vb365-certificate-fingerprint ${expected}`);
    expect(fake.requests).toEqual([]);
  });

  it("a pinned fingerprint is trusted (in any spelling); another one is refused before any request", async () => {
    fake = await startFakeVb365(sampleData());
    const pin = fingerprintByOpenssl(fake.certPem);
    const ok = new Vb365Client({
      server: fake.url,
      username: "DOMAIN\\svc-report",
      password: PASSWORD,
      trust: { fingerprint: pin.replace(/:/g, "").toLowerCase() },
    });
    await ok.signIn();
    await ok.logout();
    const before = fake.requests.length;
    const wrongPin = `${pin.slice(0, -2)}${pin.endsWith("00") ? "01" : "00"}`;
    const bad = new Vb365Client({
      server: fake.url,
      username: "DOMAIN\\svc-report",
      password: PASSWORD,
      trust: { fingerprint: wrongPin },
    });
    const error = await bad.signIn().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FingerprintMismatchError);
    expect(exitCodeFor(error)).toBe(2);
    expect((error as Error).message).toContain(pin);
    expect(fake.requests.length).toBe(before);
  });

  it("the host name is checked when trust comes from a CA file", async () => {
    fake = await startFakeVb365(sampleData(), { host: "127.0.0.2" });
    const c = new Vb365Client({
      server: fake.url,
      username: "u",
      password: "p",
      trust: { caPem: [fake.certPem] },
      retry: { ...noWait, maxAttempts: 1 },
    });
    const error = await c.signIn().catch((e: unknown) => e);
    // 127.0.0.2 is loopback too but not in the certificate's names
    expect(error).toBeInstanceOf(UntrustedServerError);
    expect((error as Error).message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID|IP: 127\.0\.0\.2/);
  });
});

describe("VB365 listings", () => {
  it("pages with offset/limit until a short page, never following _links", async () => {
    fake = await startFakeVb365(sampleData(25)); // 25 mailboxes + 5 archives = 30 items
    const c = client(fake, { pageSize: 10 });
    const items = await c.list(`/BackupRepositories/${REPO_ID}/MailboxData`, { organizationId: ORG_ID });
    expect(items).toHaveLength(30);
    const calls = fake.requests.filter((r) => r.path.endsWith("/MailboxData")).map((r) => r.query.toString());
    expect(calls).toEqual([
      `organizationId=${ORG_ID}&offset=0&limit=10`,
      `organizationId=${ORG_ID}&offset=10&limit=10`,
      `organizationId=${ORG_ID}&offset=20&limit=10`,
      `organizationId=${ORG_ID}&offset=30&limit=10`,
    ]);
  });

  it("never asks for more than the documented maximum of 10,000 per page", async () => {
    fake = await startFakeVb365(sampleData(2));
    const c = client(fake, { pageSize: 50_000 });
    await c.list("/LicensedUsers");
    expect(fake.requests.at(-1)!.query.get("limit")).toBe("10000");
  });

  it("finds the organization by msid (the tenant id), its repositories and protected mailboxes", async () => {
    fake = await startFakeVb365(sampleData(12));
    const c = client(fake, { pageSize: 5 });
    await c.signIn();
    const target = await resolveBackupTarget(c, { tenantId: TENANT_ID });
    expect(target.organization).toMatchObject({ id: ORG_ID, name: "contoso.onmicrosoft.com" });
    expect(fake.requests.find((r) => r.path === "/v8/Organizations")!.query.get("msid")).toBe(TENANT_ID);
    expect(target.repositories).toEqual([
      {
        id: REPO_ID,
        name: "Object Repository 01",
        usedSpaceBytes: 0,
        localCacheUsedSpaceBytes: 5242880,
        objectStorageUsedSpaceBytes: 121332121,
        isAvailable: true,
        protectedObjectsCount: 12,
        objectStorageType: "AmazonS3",
        unused: false,
      },
    ]);
    const snap = await readBackupSnapshot(c, target);
    const p = snap.protection[0]!;
    expect(p.source).toBe("MailboxData");
    expect([p.primaryItems, p.archiveItems, p.entries.size]).toEqual([12, 3, 12]);
    expect(p.entries.get("user5@contoso.onmicrosoft.com")).toEqual({
      email: "user5@contoso.onmicrosoft.com",
      displayName: "User 5",
      primary: true,
      archive: true,
      primaryBackedUp: "2025-01-01T02:00:00Z",
      archiveBackedUp: "2025-01-01T02:00:00Z",
    });
    expect(snap.licensedUsers).toEqual({ total: 2, byState: { Licensed: 1, New: 1 }, backedUp: 1 });
  });

  it("v7: plain arrays, no paging parameters on listings that have none, repository id from _links", async () => {
    fake = await startFakeVb365(sampleData(4), { version: "v7" });
    const c = client(fake);
    await c.signIn();
    expect(c.apiVersion).toBe("v7");
    expect(fake.requests.map((r) => r.path).slice(0, 2)).toEqual(["/v8/token", "/v7/token"]);
    expect(fake.requests[1]!.body).toContain("disable_antiforgery_token=true");
    const target = await resolveBackupTarget(c, { organization: "CONTOSO.onmicrosoft.com" });
    expect(target.organization.id).toBe(ORG_ID);
    expect(fake.requests.find((r) => r.path === "/v7/Organizations")!.query.toString()).toBe("");
    expect(target.repositories.map((r) => [r.id, r.name, r.objectStorageUsedSpaceBytes])).toEqual([
      [REPO_ID, "Object Repository 01", 121332121],
    ]);
    const snap = await readBackupSnapshot(c, target);
    expect(snap.protection[0]!.primaryItems).toBe(4);
  });

  it("unknown organization or repository: ServerError (exit 5) listing what exists", async () => {
    fake = await startFakeVb365(sampleData());
    const c = client(fake);
    const org = await resolveBackupTarget(c, { organization: "nope.onmicrosoft.com" }).catch(
      (e: unknown) => e,
    );
    expect(org).toBeInstanceOf(ServerError);
    expect(exitCodeFor(org)).toBe(5);
    expect((org as ServerError).hint).toContain(
      "contoso.onmicrosoft.com (7b2b1e4f-0000-4000-8000-000000000001)",
    );
    const repo = await resolveBackupTarget(c, { tenantId: TENANT_ID, repositories: ["Repo X"] }).catch(
      (e: unknown) => e,
    );
    expect(exitCodeFor(repo)).toBe(5);
    expect((repo as ServerError).hint).toBe(
      "Give --vb365-repository with one of: Object Repository 01, Local Repo.",
    );
  });

  it("falls back to UserData when MailboxData is not answered, and sees other workloads there", async () => {
    const data = sampleData(2);
    data.userData[REPO_ID] = [
      {
        itemType: "User",
        repositoryId: REPO_ID,
        id: "u1",
        accountType: "User",
        displayName: "A",
        email: "a@contoso.onmicrosoft.com",
        isMailboxBackedUp: true,
        mailboxBackedUpTime: "2025-01-02T02:00:00Z",
        isArchiveBackedUp: true,
        archiveBackedUpTime: "2025-01-01T02:00:00Z",
        isOneDriveBackedUp: true,
        organizationId: ORG_ID,
      },
      {
        itemType: "User",
        repositoryId: REPO_ID,
        id: "u2",
        accountType: "SharedMailbox",
        displayName: "B",
        email: "b@contoso.onmicrosoft.com",
        isMailboxBackedUp: true,
        mailboxBackedUpTime: "2025-01-02T02:00:00Z",
        isArchiveBackedUp: false,
        organizationId: ORG_ID,
      },
      {
        itemType: "User",
        repositoryId: REPO_ID,
        id: "u3",
        accountType: "User",
        displayName: "C",
        email: "c@fabrikam.onmicrosoft.com",
        isMailboxBackedUp: true,
        organizationId: "00000000-0000-4000-8000-00000000beef",
      },
    ];
    fake = await startFakeVb365(data, { mailboxDataMissing: [REPO_ID] });
    const c = client(fake);
    const target = await resolveBackupTarget(c, { tenantId: TENANT_ID });
    const snap = await readBackupSnapshot(c, target);
    const p = snap.protection[0]!;
    expect(p.source).toBe("UserData");
    expect([...p.entries.keys()]).toEqual(["a@contoso.onmicrosoft.com", "b@contoso.onmicrosoft.com"]);
    expect([p.primaryItems, p.archiveItems, p.otherWorkloads]).toEqual([2, 1, true]);
    expect(snap.warnings.join(" ")).toContain("UserData was used instead");
  });
});

describe("server address", () => {
  it("defaults to port 4443 and refuses http and embedded credentials", () => {
    expect(normalizeServer("vb365.example.com").href).toBe("https://vb365.example.com:4443/");
    expect(normalizeServer("https://vb365.example.com:443/x").href).toBe("https://vb365.example.com/");
    expect(() => normalizeServer("http://vb365:4443")).toThrow(/https/);
    expect(() => normalizeServer("https://u:p@vb365:4443")).toThrow(/user name or password/);
  });
});
