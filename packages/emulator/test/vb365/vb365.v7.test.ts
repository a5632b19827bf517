import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator } from "../../src/index.js";
import type { RunningEmulator } from "../../src/types.js";
import type { RunningVb365, Vb365Truth } from "../../src/vb365/types.js";
import { vb365Call, vb365SignIn } from "../support/vb365-client.js";

/**
 * `vb365Version: 7`: the v7 shapes (bare arrays, repository id only in `_links`, `objectStorageId`,
 * the short RESTExceptionInfo), and the collections every version shares: UserData, LicensedUsers,
 * LicensingInformation, backedupOrganizations, OrganizationData (docs/emulator-vb365.md).
 */

// biome-ignore lint/suspicious/noExplicitAny: test convenience for reading JSON bodies
type Json = any;

let emu: RunningEmulator;
let vb: RunningVb365;
let truth: Vb365Truth;
let token: string;

const get = (path: string) => vb365Call(vb.origin, vb.certificatePem, "GET", path, { token });

async function all(path: string, limit = 23): Promise<Json[]> {
  const items: Json[] = [];
  for (let offset = 0; ; offset += limit) {
    const r = await get(`${path}${path.includes("?") ? "&" : "?"}limit=${limit}&offset=${offset}`);
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ offset, limit });
    items.push(...r.json.results);
    if (r.json.results.length < limit) return items;
  }
}

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: 180, seed: 11, vb365: { version: 7, orphanShare: 0.05 } });
  vb = emu.vb365!;
  truth = vb.expectedBackup();
  token = await vb365SignIn(vb.origin, vb.certificatePem, vb.username, vb.password, 7);
});

afterAll(async () => {
  await emu?.close();
});

describe("VB365 emulator in v7 mode", () => {
  it("serves only /v7: /v8 paths are 404 and a /v8 sign-in is impossible", async () => {
    expect(vb.version).toBe(7);
    const r = await vb365Call(vb.origin, vb.certificatePem, "POST", "/v8/token", {
      form: { grant_type: "password", username: vb.username, password: vb.password },
    });
    expect(r.status).toBe(404);
    expect((await get("/v8/Organizations")).status).toBe(404);
  });

  it("returns organizations and repositories as bare arrays, without msid and with objectStorageId", async () => {
    const orgs = await get("/v7/Organizations?limit=1");
    expect(Array.isArray(orgs.json)).toBe(true);
    // paging parameters do not exist in v7: both organizations come back
    expect(orgs.json.map((o: Json) => o.name)).toEqual([emu.tenant.domain, "fabrikam.onmicrosoft.com"]);
    expect(orgs.json[0]).toMatchObject({ id: truth.organization.id, name: emu.tenant.domain });
    expect(orgs.json[0]).not.toHaveProperty("msid");
    expect(orgs.json[0]).not.toHaveProperty("backedUpOrganizationId");
    const repos = await get("/v7/BackupRepositories");
    expect(Array.isArray(repos.json)).toBe(true);
    expect(repos.json.map((r: Json) => r.id)).toEqual(truth.repositories.map((r) => r.id));
    const object = repos.json.find((r: Json) => r.name === "Object Repository 01");
    expect(object.objectStorageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(object).not.toHaveProperty("objectStorage");
    expect(repos.json.find((r: Json) => r.name === "Local Repository 01").objectStorageId).toBeNull();
  });

  it("gives usedRepositories items without repositoryId; _links.backupRepository names the repository", async () => {
    const used = await all(`/v7/Organizations/${truth.organization.id}/usedRepositories`, 1);
    expect(used).toHaveLength(2);
    for (const item of used) {
      expect(item).not.toHaveProperty("repositoryId");
      expect(item).not.toHaveProperty("protectedObjectsCount");
      const id = /^\/v7\/BackupRepositories\/([0-9a-f-]{36})$/.exec(item._links.backupRepository.href)![1];
      const r = truth.repositories.find((x) => x.id === id)!;
      expect(item).toMatchObject({
        usedSpaceBytes: r.usedSpaceBytes,
        localCacheUsedSpaceBytes: r.localCacheUsedSpaceBytes,
        objectStorageUsedSpaceBytes: r.objectStorageUsedSpaceBytes,
      });
    }
  });

  it("answers errors with the v7 RESTExceptionInfo (no stackTrace, errorCode only ProxyOffline or null)", async () => {
    const r = await get("/v7/Organizations/0f0f0f0f-0000-4000-8000-000000000000/usedRepositories");
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ message: expect.stringMatching(/not found/), errorCode: null });
    const bad = await vb365Call(vb.origin, vb.certificatePem, "POST", "/v7/token", {
      form: { grant_type: "password", username: vb.username, password: "nope" },
    });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ message: "Invalid user name or password.", errorCode: null });
  });

  it("marks orphaned MailboxData rows isDeleted and carries proxyId", async () => {
    const orphans = new Set(truth.orphaned.map((o) => o.email));
    let deleted = 0;
    for (const repo of truth.repositories.filter((x) => x.usedByOrganization)) {
      for (const row of await all(
        `/v7/BackupRepositories/${repo.id}/MailboxData?organizationId=${truth.organization.id}`,
      )) {
        expect(row.isDeleted).toBe(orphans.has(row.email));
        expect(row.proxyId).toMatch(/^[0-9a-f-]{36}$/);
        if (row.isDeleted && !row.isArchive) deleted++;
      }
    }
    expect(deleted).toBe(truth.orphaned.length);
    expect(deleted).toBe(9);
  });
});

describe("VB365 emulator: UserData, licensed users and per-repository organization data", () => {
  it("lists one UserData row per backed-up account with the archive as a flag", async () => {
    const archives = new Set(truth.protectedArchives);
    const orphanArchives = new Set(truth.orphaned.filter((o) => o.hasArchive).map((o) => o.email));
    const emails: string[] = [];
    for (const repo of truth.repositories) {
      // UserData has no organization filter: rows of the other organization come too
      const everyone = await all(`/v7/BackupRepositories/${repo.id}/UserData`);
      const rows = everyone.filter((row) => row.organizationId === truth.organization.id);
      expect(rows).toHaveLength(repo.mailboxRows);
      const r = truth.repositories.indexOf(repo);
      expect(everyone.length - rows.length).toBe(truth.otherOrganizations[0]!.repositories[r]!.mailboxRows);
      for (const row of rows) {
        expect(row).toMatchObject({
          isMailboxBackedUp: true,
          repositoryId: repo.id,
          organizationId: truth.organization.id,
        });
        expect(row.isArchiveBackedUp).toBe(archives.has(row.email) || orphanArchives.has(row.email));
        expect(row.isOneDriveBackedUp).toBe(repo.otherWorkloadBytes > 0 && row.accountType === "User");
        emails.push(row.email);
      }
    }
    expect(new Set(emails)).toEqual(
      new Set([...truth.protectedMailboxes, ...truth.orphaned.map((o) => o.email)]),
    );
  });

  it("lists licensed users with their states, and LicensingInformation agrees with the truth", async () => {
    const users = await all(`/v7/LicensedUsers?organizationId=${truth.organization.id}`, 50);
    expect(users).toHaveLength(truth.licensedUsers.total);
    const byState: Record<string, number> = {};
    for (const u of users) byState[u.licenseState] = (byState[u.licenseState] ?? 0) + 1;
    for (const [state, n] of Object.entries(truth.licensedUsers.byState)) expect(byState[state] ?? 0).toBe(n);
    expect(users.every((u) => u.isBackedUp === true && u.organizationName === emu.tenant.domain)).toBe(true);
    const info = await get(`/v7/Organizations/${truth.organization.id}/LicensingInformation`);
    expect(info.json).toEqual(truth.licensedUsers.licensingInformation);
    const former = await all(`/v7/LicensedUsers?name=former*&organizationId=${truth.organization.id}`);
    expect(former).toHaveLength(truth.orphaned.length);
    const everyone = await all("/v7/LicensedUsers", 100);
    expect(everyone).toHaveLength(
      truth.licensedUsers.total + truth.otherOrganizations[0]!.licensedUsers.total,
    );
    expect((await all("/v7/LicensedUsers?organizationId=0f0f0f0f-0000-4000-8000-000000000000")).length).toBe(
      0,
    );
  });

  it("reports the organization's space per repository in backedupOrganizations, and OrganizationData", async () => {
    for (const repo of truth.repositories) {
      const orgs = await get(`/v7/BackupRepositories/${repo.id}/backedupOrganizations`);
      const data = await get(`/v7/BackupRepositories/${repo.id}/OrganizationData`);
      if (!repo.usedByOrganization) {
        expect(orgs.json.results).toEqual([]);
        expect(data.json.results).toEqual([]);
        continue;
      }
      expect(orgs.json.results).toHaveLength(2);
      expect(
        orgs.json.results.filter((o: Json) => o.id === truth.organization.backedUpOrganizationId),
      ).toEqual([
        {
          name: emu.tenant.domain,
          id: truth.organization.backedUpOrganizationId,
          usedSpaceBytes: repo.usedSpaceBytes,
          localCacheUsedSpaceBytes: repo.localCacheUsedSpaceBytes,
          objectStorageUsedSpaceBytes: repo.objectStorageUsedSpaceBytes,
        },
      ]);
      expect(data.json.results).toHaveLength(2);
      expect(data.json.results[0]).toMatchObject({
        displayName: emu.tenant.domain,
        organizationId: truth.organization.id,
        backedUpOrganizationId: truth.organization.backedUpOrganizationId,
      });
      expect(data.json.results[0]).not.toHaveProperty("msid");
    }
  });
});
