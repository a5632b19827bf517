import { createHash, X509Certificate } from "node:crypto";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator } from "../../src/index.js";
import type { RunningEmulator } from "../../src/types.js";
import type { RunningVb365, Vb365Truth } from "../../src/vb365/types.js";
import { vb365Call, vb365SignIn } from "../support/vb365-client.js";

/**
 * The VB365 REST service over real HTTPS, against the truth the generator computes from its
 * parameters (docs/emulator-vb365.md).
 */

// biome-ignore lint/suspicious/noExplicitAny: test convenience for reading JSON bodies
type Json = any;

const now = { ms: Date.UTC(2026, 10, 20, 9, 0, 0) };
let emu: RunningEmulator;
let vb: RunningVb365;
let truth: Vb365Truth;
let token: string;

const get = (path: string, t = token) => vb365Call(vb.origin, vb.certificatePem, "GET", path, { token: t });

/** Every item of a v8 collection, following `_links.next`; also returns the page count. */
async function all(path: string, t = token): Promise<{ items: Json[]; pages: number }> {
  const items: Json[] = [];
  let next: string | undefined = path;
  let pages = 0;
  while (next) {
    const r = await get(next, t);
    expect(r.status, r.text).toBe(200);
    items.push(...r.json.results);
    pages++;
    next = r.json._links?.next?.href;
    if (pages > 1000) throw new Error("no end of pages");
  }
  return { items, pages };
}

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: 250, seed: 3, clock: () => now.ms, vb365: {} });
  vb = emu.vb365!;
  truth = vb.expectedBackup();
  token = await vb365SignIn(vb.origin, vb.certificatePem, vb.username, vb.password);
});

afterAll(async () => {
  await emu?.close();
});

describe("VB365 emulator: TLS", () => {
  it("presents its own self-signed certificate, not one from the emulator CA, with the advertised fingerprint", async () => {
    const cert = new X509Certificate(vb.certificatePem);
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.checkIssued(new X509Certificate(emu.caPem))).toBe(false);
    const expected = createHash("sha256")
      .update(cert.raw)
      .digest("hex")
      .toUpperCase()
      .match(/../g)!
      .join(":");
    expect(vb.fingerprintSha256).toBe(expected);
    const url = new URL(vb.origin);
    const presented = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false }, () => {
        resolve(s.getPeerCertificate().fingerprint256);
        s.destroy();
      });
      s.on("error", reject);
    });
    expect(presented).toBe(expected);
    // trusting the emulator CA is not enough
    await expect(vb365Call(vb.origin, emu.caPem, "GET", "/v8/Organizations")).rejects.toThrow(
      /self.signed|certificate/i,
    );
  });

  it("advertises VB365_SERVER, VB365_USERNAME and the documented default password in env", () => {
    expect(emu.env.VB365_SERVER).toBe(vb.origin);
    expect(emu.env.VB365_USERNAME).toBe("vb365-admin");
    expect(emu.env.VB365_PASSWORD).toBe("emulator-vb365");
    expect(vb.defaultPassword).toBe(true);
  });
});

describe("VB365 emulator: token", () => {
  it("answers the password grant (form) with the OAuthTokenResponse fields and expires_in from the lifetime", async () => {
    const r = await vb365Call(vb.origin, vb.certificatePem, "POST", "/v8/token", {
      form: {
        grant_type: "password",
        username: "VB365-ADMIN",
        password: vb.password,
        disable_antiforgery_token: "true",
      },
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ token_type: "bearer", expires_in: 3600, userName: "vb365-admin" });
    expect(typeof r.json.access_token).toBe("string");
    expect(typeof r.json.refresh_token).toBe("string");
    expect(Date.parse(r.json[".expires"]) - Date.parse(r.json[".issued"])).toBe(3600_000);
    expect(Date.parse(r.json[".issued"])).toBe(now.ms);
    expect(r.headers["set-cookie"]).toBeUndefined();
  });

  it("accepts a JSON body too", async () => {
    const r = await vb365Call(vb.origin, vb.certificatePem, "POST", "/v8/token", {
      json: {
        grant_type: "password",
        username: vb.username,
        password: vb.password,
        disable_antiforgery_token: true,
      },
    });
    expect(r.status).toBe(200);
    expect((await get("/v8/Organizations", r.json.access_token)).status).toBe(200);
  });

  it("refuses a wrong password with 400 and a RESTExceptionInfo body that does not echo the password", async () => {
    const r = await vb365Call(vb.origin, vb.certificatePem, "POST", "/v8/token", {
      form: {
        grant_type: "password",
        username: vb.username,
        password: "wrong-secret-123",
        disable_antiforgery_token: "true",
      },
    });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({
      message: "Invalid user name or password.",
      errorCode: "ResourceAccessDenied",
      stackTrace: null,
    });
    expect(r.text).not.toContain("wrong-secret-123");
  });

  it("refuses calls without a token, or with an unknown one, with 401", async () => {
    for (const t of [undefined, "not-a-token"]) {
      const r = await vb365Call(vb.origin, vb.certificatePem, "GET", "/v8/Organizations", { token: t });
      expect(r.status).toBe(401);
      expect(r.json).toMatchObject({ message: expect.any(String), errorCode: null });
    }
  });

  it("expires the access token after expires_in; the refresh grant issues a new pair once", async () => {
    const signIn = await vb365Call(vb.origin, vb.certificatePem, "POST", "/v8/token", {
      form: {
        grant_type: "password",
        username: vb.username,
        password: vb.password,
        disable_antiforgery_token: "true",
      },
    });
    vb.configure({ tokenLifetimeSeconds: 120 });
    const short = await vb365Call(vb.origin, vb.certificatePem, "POST", "/v8/token", {
      form: {
        grant_type: "password",
        username: vb.username,
        password: vb.password,
        disable_antiforgery_token: "true",
      },
    });
    expect(short.json.expires_in).toBe(120);
    const start = now.ms;
    try {
      now.ms = start + 119_000;
      expect((await get("/v8/Organizations", short.json.access_token)).status).toBe(200);
      now.ms = start + 120_000;
      expect((await get("/v8/Organizations", short.json.access_token)).status).toBe(401);
      const refreshed = await vb365Call(vb.origin, vb.certificatePem, "POST", "/v8/token", {
        form: {
          grant_type: "refresh_token",
          refresh_token: short.json.refresh_token,
          disable_antiforgery_token: "true",
        },
      });
      expect(refreshed.status).toBe(200);
      expect(refreshed.json.access_token).not.toBe(short.json.access_token);
      expect((await get("/v8/Organizations", refreshed.json.access_token)).status).toBe(200);
      const again = await vb365Call(vb.origin, vb.certificatePem, "POST", "/v8/token", {
        form: {
          grant_type: "refresh_token",
          refresh_token: short.json.refresh_token,
          disable_antiforgery_token: "true",
        },
      });
      expect(again.status).toBe(400);
      expect(again.json.errorCode).toBe("ResourceAccessDenied");
      // the long-lived session signed in before the change still has its hour
      expect((await get("/v8/Organizations", signIn.json.access_token)).status).toBe(200);
    } finally {
      now.ms = start;
      vb.configure({ tokenLifetimeSeconds: 3600 });
    }
  });

  it("without disable_antiforgery_token, later calls need the antiforgery token as well", async () => {
    const r = await vb365Call(vb.origin, vb.certificatePem, "POST", "/v8/token", {
      form: { grant_type: "password", username: vb.username, password: vb.password },
    });
    expect(r.status).toBe(200);
    const anti = r.headers["x-antiforgery-token"] as string;
    expect(anti).toMatch(/^[\w-]{20,}$/);
    expect(String(r.headers["set-cookie"])).toContain(`VB365-Antiforgery=${anti}`);
    const without = await get("/v8/Organizations", r.json.access_token);
    expect(without.status).toBe(400);
    expect(without.json.message).toMatch(/antiforgery/i);
    const withIt = await vb365Call(vb.origin, vb.certificatePem, "GET", "/v8/Organizations", {
      token: r.json.access_token,
      headers: { "X-Antiforgery-Token": anti },
    });
    expect(withIt.status).toBe(200);
    // the refresh grant of such a session needs it too, unless the refresh turns antiforgery off
    const refresh = (headers: Record<string, string>, form: Record<string, string> = {}) =>
      vb365Call(vb.origin, vb.certificatePem, "POST", "/v8/token", {
        form: { grant_type: "refresh_token", refresh_token: r.json.refresh_token, ...form },
        headers,
      });
    expect((await refresh({})).status).toBe(400);
    expect((await refresh({ "X-Antiforgery-Token": anti })).status).toBe(200);
  });

  it("logs out with 204; the token stops working", async () => {
    const t = await vb365SignIn(vb.origin, vb.certificatePem, vb.username, vb.password);
    const out = await vb365Call(vb.origin, vb.certificatePem, "POST", "/v8/token/logout", { token: t });
    expect(out.status).toBe(204);
    expect((await get("/v8/Organizations", t)).status).toBe(401);
  });

  it("throttles the token endpoint past its budget with 429 Quota Exceeded and Retry-After", async () => {
    const start = now.ms;
    const signIn = () =>
      vb365Call(vb.origin, vb.certificatePem, "POST", "/v8/token", {
        form: {
          grant_type: "password",
          username: vb.username,
          password: vb.password,
          disable_antiforgery_token: "true",
        },
      });
    vb.configure({ tokenThrottle: { perSecond: 1, perMinute: 3 } });
    try {
      expect((await signIn()).status).toBe(200);
      const second = await signIn();
      expect(second.status).toBe(429);
      expect(second.json.message).toMatch(/^Quota Exceeded/);
      expect(second.headers["retry-after"]).toBe("1");
      now.ms += 1000;
      expect((await signIn()).status).toBe(200);
      now.ms += 1000;
      expect((await signIn()).status).toBe(200);
      now.ms += 1000;
      const perMinute = await signIn();
      expect(perMinute.status).toBe(429);
      expect(Number(perMinute.headers["retry-after"])).toBe(57);
      // other endpoints are not throttled
      expect((await get("/v8/Organizations")).status).toBe(200);
      expect(vb.stats().throttled).toBe(2);
    } finally {
      vb.configure({ tokenThrottle: undefined });
      now.ms = start;
    }
  });
});

describe("VB365 emulator: organizations and repositories (v8)", () => {
  it("finds the organization by msid (the Exchange tenant id), named after the onmicrosoft domain", async () => {
    const r = await get(`/v8/Organizations?msid=${emu.tenant.id}`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ offset: 0, limit: 30 });
    expect(r.json.results).toHaveLength(1);
    expect(r.json.results[0]).toMatchObject({
      id: truth.organization.id,
      name: emu.tenant.domain,
      msid: emu.tenant.id,
      type: "Office365",
      isExchangeOnline: true,
      backedUpOrganizationId: truth.organization.backedUpOrganizationId,
    });
    expect(r.json._links).toBeUndefined();
    const other = await get("/v8/Organizations?msid=00000000-0000-4000-8000-000000000000");
    expect(other.json.results).toEqual([]);
    const extended = await get("/v8/Organizations?extendedView=true");
    expect(extended.json.results[0]).toHaveProperty("lastBackuptime");
    // another customer of the same server is listed too, under its own tenant id
    const every = await get("/v8/Organizations");
    expect(every.json.results.map((o: Json) => o.name)).toEqual([
      emu.tenant.domain,
      "fabrikam.onmicrosoft.com",
    ]);
    expect(every.json.results[1].msid).toBe(truth.otherOrganizations[0]!.organization.msid);
    expect(every.json.results[1].msid).not.toBe(emu.tenant.id);
  });

  it("mixes organizations where the API does: MailboxData without organizationId, repository totals", async () => {
    const other = truth.otherOrganizations[0]!;
    const repos = await get("/v8/BackupRepositories");
    for (const [r, repo] of truth.repositories.entries()) {
      const everyone = await all(`/v8/BackupRepositories/${repo.id}/MailboxData?limit=500`);
      expect(everyone.items).toHaveLength(
        repo.mailboxRows +
          repo.archiveRows +
          other.repositories[r]!.mailboxRows +
          other.repositories[r]!.archiveRows,
      );
      expect(new Set(everyone.items.map((i) => i.organizationId))).toEqual(
        new Set(repo.usedByOrganization ? [truth.organization.id, other.organization.id] : []),
      );
      const served = repos.json.results.find((x: Json) => x.id === repo.id);
      const totals = truth.repositoryTotals[r]!;
      if (repo.kind === "objectStorage") {
        expect(served.objectStorage.usedSpaceBytes).toBe(totals.objectStorageUsedSpaceBytes);
      } else {
        expect(served.freeSpaceBytes).toBe(served.capacityBytes - totals.usedSpaceBytes);
      }
    }
    expect(truth.repositoryTotals[1]!.objectStorageUsedSpaceBytes).toBe(
      truth.repositories[1]!.objectStorageUsedSpaceBytes! +
        other.repositories[1]!.objectStorageUsedSpaceBytes!,
    );
  });

  it("lists three repositories; usedRepositories gives the organization's two with the truth's usage", async () => {
    const repos = await get("/v8/BackupRepositories");
    expect(repos.status).toBe(200);
    expect(repos.json.results.map((r: Json) => r.name)).toEqual(truth.repositories.map((r) => r.name));
    const object = repos.json.results.find((r: Json) => r.name === "Object Repository 01");
    expect(object.objectStorage).toMatchObject({ type: "AmazonS3" });
    expect(object).not.toHaveProperty("objectStorageId");
    const used = await get(`/v8/Organizations/${truth.organization.id}/usedRepositories`);
    expect(used.status).toBe(200);
    const expected = truth.repositories.filter((r) => r.usedByOrganization);
    expect(used.json.results).toHaveLength(2);
    for (const r of expected) {
      const item = used.json.results.find((u: Json) => u.repositoryId === r.id);
      expect(item).toMatchObject({
        usedSpaceBytes: r.usedSpaceBytes,
        localCacheUsedSpaceBytes: r.localCacheUsedSpaceBytes,
        objectStorageUsedSpaceBytes: r.objectStorageUsedSpaceBytes,
        isAvailable: true,
      });
      expect(item._links.backupRepository.href).toBe(`/v8/BackupRepositories/${r.id}`);
    }
    const local = truth.repositories.find((r) => r.kind === "local")!;
    expect(local.usedSpaceBytes).toBe(Math.round(local.sourceMailBytes * 0.6));
    expect(local.objectStorageUsedSpaceBytes).toBeNull();
    const obj = truth.repositories.find((r) => r.name === "Object Repository 01")!;
    expect(obj.otherWorkloadBytes).toBeGreaterThan(0);
    expect(obj.objectStorageUsedSpaceBytes).toBe(obj.storedMailBytes + obj.otherWorkloadBytes);
  });

  it("answers unknown organization and repository ids with 404 ResourceNotFound", async () => {
    const missing = "0f0f0f0f-0000-4000-8000-000000000000";
    for (const path of [
      `/v8/Organizations/${missing}/usedRepositories`,
      `/v8/BackupRepositories/${missing}/MailboxData`,
      `/v8/BackupRepositories/${truth.repositories[0]!.id}/MailboxData?organizationId=${missing}`,
      "/v8/NoSuchThing",
    ]) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect(r.json).toMatchObject({
        errorCode: path.includes("NoSuch") ? "ResourceNotFound" : "ResourceNotFound",
      });
    }
  });
});

describe("VB365 emulator: MailboxData", () => {
  it("pages through several pages by _links.next and by offset alike, matching the truth's lists", async () => {
    const protectedSet = new Set(truth.protectedMailboxes);
    const archiveSet = new Set(truth.protectedArchives);
    const orphanSet = new Set(truth.orphaned.map((o) => o.email));
    const seenMailboxes: string[] = [];
    const seenArchives: string[] = [];
    const seenOrphans = new Set<string>();
    for (const repo of truth.repositories) {
      const path = `/v8/BackupRepositories/${repo.id}/MailboxData?organizationId=${truth.organization.id}&limit=17`;
      const { items, pages } = await all(path);
      expect(items.filter((i) => !i.isArchive)).toHaveLength(repo.mailboxRows);
      expect(items.filter((i) => i.isArchive)).toHaveLength(repo.archiveRows);
      if (repo.usedByOrganization) expect(pages).toBeGreaterThan(3);
      for (const item of items) {
        expect(item).toMatchObject({
          itemType: "Mailbox",
          repositoryId: repo.id,
          organizationId: truth.organization.id,
        });
        if (orphanSet.has(item.email)) seenOrphans.add(item.email);
        else if (item.isArchive) seenArchives.push(item.email);
        else seenMailboxes.push(item.email);
      }
      // the same rows by offset until a short page
      const byOffset: Json[] = [];
      for (let offset = 0; ; offset += 17) {
        const r = await get(
          `/v8/BackupRepositories/${repo.id}/MailboxData?organizationId=${truth.organization.id}&limit=17&offset=${offset}`,
        );
        byOffset.push(...r.json.results);
        if (r.json.results.length < 17) break;
      }
      expect(byOffset).toEqual(items);
    }
    expect(new Set(seenMailboxes)).toEqual(protectedSet);
    expect(seenMailboxes).toHaveLength(protectedSet.size);
    expect(new Set(seenArchives)).toEqual(archiveSet);
    expect(seenOrphans).toEqual(orphanSet);
    expect(orphanSet.size).toBe(5);
  });

  it("defaults to 30 per page, refuses a limit above 10,000 and bad offsets with ParameterValidationFailure", async () => {
    const repo = truth.repositories[1]!;
    const first = await get(`/v8/BackupRepositories/${repo.id}/MailboxData`);
    expect(first.json).toMatchObject({ offset: 0, limit: 30 });
    expect(first.json.results).toHaveLength(30);
    expect(first.json._links.next.href).toBe(
      `/v8/BackupRepositories/${repo.id}/MailboxData?offset=30&limit=30`,
    );
    expect((await get(`/v8/BackupRepositories/${repo.id}/MailboxData?limit=10000`)).status).toBe(200);
    for (const q of ["limit=10001", "limit=0", "offset=-1", "limit=abc"]) {
      const r = await get(`/v8/BackupRepositories/${repo.id}/MailboxData?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.json.errorCode).toBe("ParameterValidationFailure");
    }
  });

  it("filters on displayName with * and ? wildcards", async () => {
    const repo = truth.repositories[1]!;
    const { items } = await all(
      `/v8/BackupRepositories/${repo.id}/MailboxData?filter=Former*&limit=100&organizationId=${truth.organization.id}`,
    );
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((i) => i.displayName.startsWith("Former Employee"))).toBe(true);
    expect(items.filter((i) => !i.isArchive).length).toBe(
      truth.orphaned.filter((o) => o.repositoryId === repo.id).length,
    );
  });

  it("gives every row a backedUpTime: stale ones older than staleDays, fresh ones within the last day", async () => {
    const stale = new Map(truth.stale.map((s) => [s.email, s.backedUpTime]));
    expect(stale.size).toBeGreaterThan(0);
    for (const repo of truth.repositories.filter((r) => r.usedByOrganization)) {
      const { items } = await all(
        `/v8/BackupRepositories/${repo.id}/MailboxData?limit=10000&organizationId=${truth.organization.id}`,
      );
      for (const item of items) {
        const age = now.ms - Date.parse(item.backedUpTime);
        if (stale.has(item.email)) {
          expect(item.backedUpTime).toBe(stale.get(item.email));
          expect(age).toBeGreaterThan(3 * 86_400_000);
        } else if (!truth.orphaned.some((o) => o.email === item.email)) {
          expect(age).toBeLessThan(86_400_000);
          expect(age).toBeGreaterThanOrEqual(0);
        }
      }
    }
  });
});

describe("VB365 emulator: truth", () => {
  it("partitions the active Exchange mailboxes into protected and unprotected, with resources protected less often", async () => {
    const usage = emu.expectedUsage();
    expect(truth.protectedMailboxes.length + truth.unprotected.length).toBe(usage.mailboxes);
    const unprotectedShare = (types: string[]) => {
      const total = types.reduce((n, t) => n + (usage.mailboxesByType[t] ?? 0), 0);
      const missing = truth.unprotected.filter((u) => types.includes(u.type)).length;
      return missing / total;
    };
    expect(unprotectedShare(["UserMailbox"])).toBeLessThan(0.2);
    expect(unprotectedShare(["SharedMailbox", "RoomMailbox", "EquipmentMailbox"])).toBeGreaterThan(0.3);
    // the discovery mailbox is never backed up
    expect(truth.unprotected.some((u) => u.type === "DiscoveryMailbox")).toBe(true);
    expect(truth.licensedUsers.total).toBe(
      Object.values(truth.licensedUsers.byState).reduce((a, b) => a + b, 0),
    );
  });
});
