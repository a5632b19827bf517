import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { aggregateUsage } from "./aggregate.js";
import { SCHEMA_VERSION, UsageHistory } from "./history.js";
import type { MailboxUsage, TenantCounts } from "./types.js";

const usage = (guid: string, bytes: number, archive?: number): MailboxUsage => ({
  guid,
  identity: `${guid}@contoso.com`,
  displayName: guid,
  recipientTypeDetails: "UserMailbox",
  category: "user",
  primaryBytes: bytes,
  primaryItems: 2,
  deletedBytes: 1,
  deletedItems: 1,
  hasArchive: archive !== undefined,
  archiveBytes: archive ?? null,
  archiveItems: archive === undefined ? null : 3,
  archiveDeletedBytes: archive === undefined ? null : 0,
  archiveDeletedItems: archive === undefined ? null : 0,
  lastLogonTime: null,
});
const counts: TenantCounts = {
  recipients: 3,
  mailboxes: 2,
  mailboxesByType: { UserMailbox: 2 },
  inactiveMailboxes: 0,
  archives: 1,
};

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "exo-report-history-"));
  path = join(dir, "home", "history.sqlite");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("UsageHistory", () => {
  it("creates a versioned WAL database in a private directory", async () => {
    const h = await UsageHistory.open(path);
    h.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
    expect((await stat(join(dir, "home"))).mode & 0o777).toBe(0o700);
  });

  it("refuses a database from a newer exo-cba instead of corrupting it", async () => {
    (await UsageHistory.open(path)).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    await expect(UsageHistory.open(path)).rejects.toThrow(/newer/);
  });

  it("keeps the mailbox rows of an unfinished run for --resume, with archive figures intact", async () => {
    const h = await UsageHistory.open(path);
    const run = h.startRun("contoso", "2026-11-01T00:00:00.000Z");
    h.recordMailbox(run.id, usage("a", 10, 100));
    h.recordMailbox(run.id, usage("b", 20));
    h.flush(run.id);
    h.finishRun(run.id, {
      status: "partial",
      finishedAt: "2026-11-01T00:01:00.000Z",
      counts,
      totals: aggregateUsage([]),
      failures: 1,
    });
    h.close();

    const again = await UsageHistory.open(path);
    const unfinished = again.findUnfinishedRun("contoso")!;
    expect(unfinished.id).toBe(run.id);
    expect(unfinished.status).toBe("partial");
    expect(again.findUnfinishedRun("fabrikam")).toBeUndefined();
    const rows = again.loadMailboxes(run.id);
    expect(rows.get("a")).toEqual(usage("a", 10, 100));
    expect(rows.get("b")).toEqual(usage("b", 20));
    again.close();
  });

  it("lists only complete runs as growth points, oldest first, and a complete run ends resumability", async () => {
    const h = await UsageHistory.open(path);
    const r1 = h.startRun("contoso", "2026-01-01T00:00:00.000Z");
    h.finishRun(r1.id, {
      status: "complete",
      finishedAt: "2026-01-01T00:05:00.000Z",
      counts,
      totals: aggregateUsage([usage("a", 99)]),
      failures: 0,
    });
    const r2 = h.startRun("contoso", "2026-02-01T00:00:00.000Z");
    h.finishRun(r2.id, {
      status: "partial",
      finishedAt: "2026-02-01T00:05:00.000Z",
      counts,
      totals: aggregateUsage([]),
      failures: 2,
    });
    const r3 = h.startRun("contoso", "2026-03-01T00:00:00.000Z");
    h.finishRun(r3.id, {
      status: "complete",
      finishedAt: "2026-03-01T00:05:00.000Z",
      counts,
      totals: aggregateUsage([usage("a", 199)]),
      failures: 0,
    });
    expect(h.completedPoints("contoso")).toEqual([
      { runId: r1.id, at: "2026-01-01T00:05:00.000Z", totalProtectedBytes: 100, mailboxes: 2 },
      { runId: r3.id, at: "2026-03-01T00:05:00.000Z", totalProtectedBytes: 200, mailboxes: 2 },
    ]);
    expect(h.findUnfinishedRun("contoso")).toBeUndefined();
    h.close();
  });

  it("reads a run's rows back one at a time in the order asked, with smtp, skipping unknown guids", async () => {
    const h = await UsageHistory.open(path);
    const run = h.startRun("contoso", "2026-11-01T00:00:00.000Z");
    const withSmtp: MailboxUsage = { ...usage("c", 30), smtp: "carol@contoso.com" };
    h.recordMailbox(run.id, usage("a", 10, 100));
    h.recordMailbox(run.id, usage("b", 20));
    h.recordMailbox(run.id, withSmtp);
    // not flushed yet: reading flushes first
    const rows = h.mailboxRows(run.id, ["c", "zz", "a", "b"], (m) => {
      m.protected = m.guid === "a";
    });
    expect(rows.length).toBe(4);
    const read = [...rows];
    expect(read.map((m) => m.guid)).toEqual(["c", "a", "b"]);
    expect(read[0]).toEqual({ ...withSmtp, protected: false });
    expect(read[1]).toEqual({ ...usage("a", 10, 100), protected: true });
    // the same keys in the same order as the collector's rows (the JSON files print them as they are)
    expect(JSON.stringify(read[2])).toBe(JSON.stringify({ ...usage("b", 20), protected: false }));
    // iterable again: a second pass reads the rows again
    expect([...rows].map((m) => m.guid)).toEqual(["c", "a", "b"]);
    expect(h.mailboxLookup(run.id).get("c")).toEqual(withSmtp);
    expect(h.mailboxLookup(run.id).get("zz")).toBeUndefined();
    h.close();
  });

  it("keeps a run's listing in order, in chunks, replaced by a new listing and dropped when asked", async () => {
    const h = await UsageHistory.open(path);
    const run = h.startRun("contoso", "2026-11-01T00:00:00.000Z");
    const entry = (i: number) => ({
      guid: `g${i}`,
      identity: `u${i}@contoso.com`,
      displayName: `User ${i}`,
      recipientTypeDetails: i % 2 ? "SharedMailbox" : "UserMailbox",
      hasArchive: i % 3 === 0,
      ...(i === 7 ? { smtp: "seven@contoso.com" } : {}),
    });
    const store = h.listingStore(run.id);
    for (let i = 0; i < 1234; i++) store.add(entry(i));
    expect(store.length).toBe(1234);
    expect(store.read(0, 3)).toEqual([entry(0), entry(1), entry(2)]);
    expect(store.read(5, 4)).toEqual([entry(5), entry(6), entry(7), entry(8)]);
    expect(store.read(1230, 10)).toEqual([entry(1230), entry(1231), entry(1232), entry(1233)]);
    const again = h.listingStore(run.id);
    again.add(entry(99));
    expect(again.read(0, 10)).toEqual([entry(99)]);
    h.dropListing(run.id);
    expect(again.read(0, 10)).toEqual([]);
    h.close();
  });

  it("adds the smtp column to a version-2 database and keeps its rows", async () => {
    // A real version-2 file: made by this version's migrations 1 and 2, then a row written the old way.
    const h1 = await UsageHistory.open(path);
    h1.close();
    const raw = new Database(path);
    raw.exec("ALTER TABLE mailbox_usage DROP COLUMN smtp; DROP TABLE mailbox_listing");
    raw.pragma("user_version = 2");
    raw.exec(
      "INSERT INTO runs (id, tenant, started_at, status) VALUES ('r1', 'contoso', '2026-01-01', 'partial')",
    );
    raw
      .prepare(
        "INSERT INTO mailbox_usage VALUES ('r1', 'a', 'a@contoso.com', 'a', 'UserMailbox', 'user', 10, 2, 1, 1, NULL, NULL, NULL, NULL, NULL)",
      )
      .run();
    raw.close();
    const h = await UsageHistory.open(path);
    expect([...h.mailboxRows("r1", ["a"])]).toEqual([usage("a", 10)]);
    h.close();
    const check = new Database(path, { readonly: true });
    expect(check.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    check.close();
  });

  it("writes buffered rows in batches and on close", async () => {
    const h = await UsageHistory.open(path);
    const run = h.startRun("contoso", "2026-11-01T00:00:00.000Z");
    for (let i = 0; i < 1203; i++) h.recordMailbox(run.id, usage(`m${i}`, i));
    h.close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare("SELECT count(*) AS n FROM mailbox_usage").get()).toEqual({ n: 1203 });
    db.close();
  });
});
