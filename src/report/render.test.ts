import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../util/fs.js";
import { aggregateUsage } from "./aggregate.js";
import { CHUNK_CHARS } from "./chunks.js";
import { mailboxCsvChunks } from "./csv.js";
import { tenantJsonChunks } from "./json.js";
import type { TenantReport } from "./model.js";
import type { MailboxUsage } from "./types.js";

const row = (i: number): MailboxUsage => ({
  guid: `guid-${i}`,
  identity: `user${i}@contoso.com`,
  displayName: `User "${i}", test`,
  recipientTypeDetails: "UserMailbox",
  category: "user",
  primaryBytes: i,
  primaryItems: 1,
  deletedBytes: 0,
  deletedItems: 0,
  hasArchive: false,
  archiveBytes: null,
  archiveItems: null,
  archiveDeletedBytes: null,
  archiveDeletedItems: null,
  lastLogonTime: null,
});

const report = (mailboxes: MailboxUsage[]): TenantReport => ({
  tenant: "contoso",
  organization: "contoso.onmicrosoft.com",
  status: "complete",
  counts: {
    recipients: 1,
    mailboxes: mailboxes.length,
    mailboxesByType: {},
    inactiveMailboxes: 0,
    archives: 0,
  },
  totals: aggregateUsage(mailboxes),
  growth: null,
  backup: null,
  failures: [],
  warnings: [],
  run: {
    runId: "r",
    startedAt: "s",
    finishedAt: "f",
    resumed: false,
    calls: { statistics: 0, archiveStatistics: 0, reused: 0 },
    cmdlets: "exo",
    throttled: 0,
    windowCuts: 0,
  },
  mailboxes,
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "exo-report-render-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("streamed report files", () => {
  it("writes valid JSON across chunk boundaries, in several chunks, with every mailbox once", async () => {
    const rows = Array.from({ length: 2500 }, (_, i) => row(i));
    const chunks = [...tenantJsonChunks(report(rows), "2026-11-01T00:00:00Z")];
    expect(chunks.length).toBeGreaterThan(3);
    const path = join(dir, "r.json");
    await writeFileAtomic(path, tenantJsonChunks(report(rows), "2026-11-01T00:00:00Z"));
    const parsed = JSON.parse(await readFile(path, "utf8"));
    expect(parsed.mailboxes).toHaveLength(2500);
    expect(parsed.mailboxes[1999]).toEqual(row(1999));
    expect(parsed.totals.primaryBytes).toBe((2499 * 2500) / 2);
    expect(parsed.schema).toBe("exo-cba/usage-report@1");
  });

  it("writes an empty mailbox list as valid JSON", () => {
    const parsed = JSON.parse([...tenantJsonChunks(report([]), "x")].join(""));
    expect(parsed.mailboxes).toEqual([]);
  });

  it("streams the CSV and the JSON in chunks of whole rows, each small enough for V8's young generation", () => {
    const rows = Array.from({ length: 2500 }, (_, i) => row(i));
    const csv = [...mailboxCsvChunks("contoso", rows)];
    expect(csv.length).toBeGreaterThan(3);
    for (const chunk of csv) {
      expect(chunk.endsWith("\r\n")).toBe(true);
      // One row at most past the limit: never a string big enough for the large-object space (~128 KB).
      expect(chunk.length).toBeLessThan(CHUNK_CHARS + 1000);
    }
    expect(csv.join("").split("\r\n").length - 2).toBe(2500); // header + rows, trailing empty
    const json = [...tenantJsonChunks(report(rows), "2026-12-03T00:00:00Z")];
    expect(json.length).toBeGreaterThan(3);
    for (const chunk of json) expect(chunk.length).toBeLessThan(CHUNK_CHARS + 1000);
    expect((JSON.parse(json.join("")) as { mailboxes: unknown[] }).mailboxes).toHaveLength(2500);
  });

  it("leaves neither the file nor a temp file when the chunk source fails", async () => {
    function* failing() {
      yield "partial,";
      throw new Error("renderer broke");
    }
    const path = join(dir, "broken.csv");
    await expect(writeFileAtomic(path, failing())).rejects.toThrow("renderer broke");
    expect((await readdir(dir)).filter((f) => f.includes("broken"))).toEqual([]);
  });
});
