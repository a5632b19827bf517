import { describe, expect, it } from "vitest";
import type { BackupSnapshot, ProtectedEntry } from "../vb365/backup.js";
import { computeBackupGrowth, computeCoverage } from "./backup-coverage.js";
import type { MailboxUsage } from "./types.js";

const MiB = 1_048_576;
const NOW = new Date("2025-01-10T12:00:00Z");

function mailbox(
  identity: string,
  type: string,
  primary: number,
  deleted: number,
  archive?: number,
): MailboxUsage {
  return {
    guid: `g-${identity}`,
    identity,
    displayName: identity.split("@")[0]!,
    recipientTypeDetails: type,
    category: type === "UserMailbox" ? "user" : type === "SharedMailbox" ? "shared" : "room",
    primaryBytes: primary,
    primaryItems: 1,
    deletedBytes: deleted,
    deletedItems: 1,
    hasArchive: archive !== undefined,
    archiveBytes: archive ?? null,
    archiveItems: archive === undefined ? null : 1,
    archiveDeletedBytes: archive === undefined ? null : 0,
    archiveDeletedItems: archive === undefined ? null : 0,
    lastLogonTime: null,
  };
}

const entry = (email: string, p: Partial<ProtectedEntry>): ProtectedEntry => ({
  email,
  displayName: email,
  primary: true,
  archive: false,
  primaryBackedUp: "2025-01-10T02:00:00Z",
  archiveBackedUp: null,
  ...p,
});

function snapshot(): BackupSnapshot {
  const entries = new Map<string, ProtectedEntry>(
    [
      entry("ann@c.test", { archive: true, archiveBackedUp: "2025-01-10T02:00:00Z" }),
      entry("bob@c.test", { primaryBackedUp: "2025-01-01T02:00:00Z" }), // 9 days old: stale
      entry("gone@c.test", { displayName: "Former" }), // not in Exchange: orphaned
    ].map((e) => [e.email, e]),
  );
  return {
    server: "https://vb:4443",
    apiVersion: "v8",
    organization: { id: "org", name: "c.test", officeName: null, msid: "t", backedUpOrganizationId: null },
    repositories: [
      {
        id: "r1",
        name: "Repo 1",
        usedSpaceBytes: 0,
        localCacheUsedSpaceBytes: 1000,
        objectStorageUsedSpaceBytes: 30 * MiB,
        isAvailable: true,
        protectedObjectsCount: null,
        objectStorageType: "AmazonS3",
        unused: false,
      },
    ],
    protection: [
      {
        repositoryId: "r1",
        source: "MailboxData",
        entries,
        primaryItems: 3,
        archiveItems: 1,
        otherWorkloads: false,
      },
    ],
    licensedUsers: { total: 2, byState: { Licensed: 2 }, backedUp: 2 },
    warnings: [],
    readAt: NOW.toISOString(),
  };
}

describe("backup coverage", () => {
  it("unions an address over two repositories without changing either repository's own entries", () => {
    const s = snapshot();
    const r2 = { ...s.repositories[0]!, id: "r2", name: "Repo 2", objectStorageUsedSpaceBytes: 0 };
    // bob: primary on r1 (Jan 1, stale alone), archive and a newer primary backup on r2
    const bobOnR2 = entry("bob@c.test", {
      primaryBackedUp: "2025-01-09T12:00:00Z",
      archive: true,
      archiveBackedUp: "2025-01-09T13:00:00Z",
    });
    const bobOnR1 = { ...s.protection[0]!.entries.get("bob@c.test")! };
    s.repositories.push(r2);
    s.protection.push({
      repositoryId: "r2",
      source: "MailboxData",
      entries: new Map([[bobOnR2.email, bobOnR2]]),
      primaryItems: 1,
      archiveItems: 1,
      otherWorkloads: false,
    });
    const rows = [mailbox("BOB@c.test", "UserMailbox", 10 * MiB, 0, 3 * MiB)];
    const c = computeCoverage({
      snapshot: s,
      counts: { recipients: 9, mailboxes: 1, mailboxesByType: {}, inactiveMailboxes: 0, archives: 1 },
      mailboxes: rows,
      allMailboxesBytes: 13 * MiB,
      now: NOW,
    });
    expect(rows[0]).toMatchObject({
      protected: true,
      archiveProtected: true,
      lastBackup: "2025-01-09T12:00:00Z",
    });
    expect(c.stale.count).toBe(0); // the newer backup on r2 counts
    expect(c.protectedExchangeBytes).toBe(13 * MiB); // primary + archive (protected on r2)
    // each repository's column 3 counts bob's primary sizes once: 10 MiB + 0
    expect(c.repositories.map((r) => r.scriptColumns["M365 Mailbox Size (MB)"])).toEqual([10, 10]);
    // the repositories' own entries are untouched by the union
    expect(s.protection[0]!.entries.get("bob@c.test")).toEqual(bobOnR1);
    expect(s.protection[1]!.entries.get("bob@c.test")).toEqual(
      entry("bob@c.test", {
        primaryBackedUp: "2025-01-09T12:00:00Z",
        archive: true,
        archiveBackedUp: "2025-01-09T13:00:00Z",
      }),
    );
    // ann and gone are on r1 only: gone is orphaned, ann (not in Exchange here) too
    expect(c.orphaned.mailboxes.map((o) => o.email).sort()).toEqual(["ann@c.test", "gone@c.test"]);
  });

  it("joins by address: protected, stale, unprotected by type, orphaned, bytes and reduction", () => {
    const rows = [
      mailbox("ann@c.test", "UserMailbox", 40 * MiB, 2 * MiB, 8 * MiB),
      mailbox("BOB@c.test", "UserMailbox", 10 * MiB, 0),
      mailbox("sales@c.test", "SharedMailbox", 5 * MiB, 0),
      mailbox("room1@c.test", "RoomMailbox", 1 * MiB, 0),
    ];
    const c = computeCoverage({
      snapshot: snapshot(),
      counts: { recipients: 9, mailboxes: 4, mailboxesByType: {}, inactiveMailboxes: 0, archives: 1 },
      mailboxes: rows,
      allMailboxesBytes: 66 * MiB,
      now: NOW,
    });
    // ann: 40 + 2 + archive 8 (protected) = 50 MiB; bob: 10 MiB
    expect(c.protectedExchangeBytes).toBe(60 * MiB);
    expect(c.totals.storedBytes).toBe(30 * MiB);
    expect(c.dataReductionPercent).toBe(50);
    expect(c.protectedMailboxes).toBe(3); // ann, bob, and the orphan as VB365 lists it
    expect(c.protectedInExchange).toBe(2);
    expect(c.storedBytesPerProtectedMailbox).toBe(10 * MiB);
    expect(c.unprotected.byType).toEqual({ SharedMailbox: 1, RoomMailbox: 1 });
    expect(c.unprotected.mailboxes.map((m) => m.identity)).toEqual(["sales@c.test", "room1@c.test"]);
    expect(c.stale.mailboxes).toEqual([
      {
        identity: "BOB@c.test",
        displayName: "BOB",
        recipientTypeDetails: "UserMailbox",
        lastBackup: "2025-01-01T02:00:00Z",
      },
    ]);
    expect(c.orphaned.mailboxes).toEqual([
      { email: "gone@c.test", displayName: "Former", lastBackup: "2025-01-10T02:00:00Z", archiveOnly: false },
    ]);
    expect(c.reductionNote).toContain("only mailbox data");
    expect(rows.map((m) => [m.protected, m.archiveProtected, m.lastBackup])).toEqual([
      [true, true, "2025-01-10T02:00:00Z"],
      [true, null, "2025-01-01T02:00:00Z"],
      [false, null, null],
      [false, null, null],
    ]);
    // The script's column 3 for the repository: ToMB(40 MiB) + ToMB(2 MiB) + ToMB(10 MiB) + ToMB(0) = 52
    expect(c.repositories[0]!.scriptColumns).toEqual({
      "M365 Mailboxes": 9,
      "Backed up Mailboxes on Repo": 3,
      "M365 Mailbox Size (MB)": 52,
      "Stored on Local Repo (MB)": 0,
      "Stored on Object Repo (MB)": 30,
      "Data Reduction in %": 42, // (52 − 30) / 52 × 100 = 42.3
      "Used Capacity per User (MB)": 10,
    });
  });

  it("says when other workloads share the repository, and guards zero", () => {
    const s = snapshot();
    s.protection[0]!.otherWorkloads = true;
    s.protection[0]!.entries.clear();
    const c = computeCoverage({
      snapshot: s,
      counts: { recipients: 0, mailboxes: 0, mailboxesByType: {}, inactiveMailboxes: 0, archives: 0 },
      mailboxes: [],
      allMailboxesBytes: 0,
      now: NOW,
    });
    expect(c.dataReductionPercent).toBeNull();
    expect(c.storedBytesPerProtectedMailbox).toBeNull();
    expect(c.otherWorkloads).toBe(true);
    expect(c.reductionNote).toContain("other workloads");
  });

  it("growth compares stored bytes with protected mailbox bytes between the first and last run", () => {
    expect(
      computeBackupGrowth([
        { at: "2025-01-03T00:00:00Z", storedBytes: 150, protectedExchangeBytes: 1200 },
        { at: "2025-01-01T00:00:00Z", storedBytes: 100, protectedExchangeBytes: 1000 },
      ]),
    ).toEqual({
      from: "2025-01-01T00:00:00Z",
      to: "2025-01-03T00:00:00Z",
      days: 2,
      storedFirstBytes: 100,
      storedLastBytes: 150,
      storedGrowthBytes: 50,
      protectedExchangeFirstBytes: 1000,
      protectedExchangeLastBytes: 1200,
      protectedExchangeGrowthBytes: 200,
      runs: 2,
    });
    expect(
      computeBackupGrowth([{ at: "2025-01-01T00:00:00Z", storedBytes: 1, protectedExchangeBytes: 1 }]),
    ).toBeNull();
  });
});
