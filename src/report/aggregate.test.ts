import { describe, expect, it } from "vitest";
import { aggregateUsage, combineTotals, computeBackupComparison, computeGrowth } from "./aggregate.js";
import type { MailboxUsage } from "./types.js";

const mailbox = (guid: string, primaryBytes: number, extra: Partial<MailboxUsage> = {}): MailboxUsage => ({
  guid,
  identity: `${guid}@contoso.com`,
  displayName: guid,
  recipientTypeDetails: "UserMailbox",
  category: "user",
  primaryBytes,
  primaryItems: 1,
  deletedBytes: 0,
  deletedItems: 0,
  hasArchive: false,
  archiveBytes: null,
  archiveItems: null,
  archiveDeletedBytes: null,
  archiveDeletedItems: null,
  lastLogonTime: null,
  ...extra,
});

describe("aggregateUsage", () => {
  it("keeps the ten largest mailboxes by protected bytes, largest first", () => {
    const rows = Array.from({ length: 25 }, (_, i) => mailbox(`m${i}`, (i * 7) % 25));
    const top = aggregateUsage(rows).top;
    expect(top.map((t) => t.protectedBytes)).toEqual([24, 23, 22, 21, 20, 19, 18, 17, 16, 15]);
  });

  it("counts archive bytes in the protected total and the top list", () => {
    const rows = [
      mailbox("a", 10),
      mailbox("b", 5, {
        hasArchive: true,
        archiveBytes: 100,
        archiveItems: 1,
        archiveDeletedBytes: 1,
        archiveDeletedItems: 0,
      }),
    ];
    const t = aggregateUsage(rows);
    expect(t.totalProtectedBytes).toBe(116);
    expect(t.top[0]).toMatchObject({ identity: "b@contoso.com", protectedBytes: 106, archiveBytes: 100 });
    expect(t.averageProtectedBytesPerMailbox).toBe(58);
  });

  it("buckets mailboxes by size with binary bounds", () => {
    const MiB = 1024 ** 2;
    const rows = [
      mailbox("a", 100 * MiB - 1),
      mailbox("b", 100 * MiB),
      mailbox("c", 1024 * MiB),
      mailbox("d", 60 * 1024 * MiB),
    ];
    expect(aggregateUsage(rows).distribution.map((d) => d.mailboxes)).toEqual([1, 1, 1, 0, 1]);
  });

  it("gives null averages instead of NaN for an empty tenant", () => {
    const t = aggregateUsage([]);
    expect(t.averageProtectedBytesPerMailbox).toBeNull();
    expect(t.averageProtectedBytesPerUserMailbox).toBeNull();
  });

  it("combines tenants by summing and merging the top lists", () => {
    const a = aggregateUsage([mailbox("a1", 10), mailbox("a2", 30)]);
    const b = aggregateUsage([
      mailbox("b1", 20, { category: "shared", recipientTypeDetails: "SharedMailbox" }),
    ]);
    const c = combineTotals([a, b]);
    expect(c.totalProtectedBytes).toBe(60);
    expect(c.mailboxesMeasured).toBe(3);
    expect(c.top.map((t) => t.identity)).toEqual(["a2@contoso.com", "b1@contoso.com", "a1@contoso.com"]);
    expect(c.averageProtectedBytesPerUserMailbox).toBe(20); // (10 + 30) / 2 user mailboxes
  });
});

describe("computeGrowth", () => {
  it("computes absolute, linear annualised and compound annualised growth between first and last run", () => {
    // 1,000,000 bytes on 2026-01-01, 1,100,000 bytes 73.05 days later (= 1/5 of a 365.25-day year).
    const g = computeGrowth([
      { runId: "r2", at: "2026-03-15T01:12:00.000Z", totalProtectedBytes: 1_100_000, mailboxes: 5 },
      { runId: "r1", at: "2026-01-01T00:00:00.000Z", totalProtectedBytes: 1_000_000, mailboxes: 5 },
    ])!;
    expect(g.days).toBeCloseTo(73.05, 10);
    expect(g.growthBytes).toBe(100_000);
    // linear: 100,000 × 5 = 500,000 bytes per year
    expect(g.annualisedBytes).toBeCloseTo(500_000, 6);
    // compound: 1.1^5 − 1 = 0.61051 → 61.051 %
    expect(g.annualisedPercent).toBeCloseTo(61.051, 6);
    expect(g.from).toBe("2026-01-01T00:00:00.000Z");
    expect(g.formula).toContain("365.25");
  });

  it("needs two runs with time between them, and gives no percentage from a zero base", () => {
    expect(
      computeGrowth([{ runId: "a", at: "2026-01-01T00:00:00Z", totalProtectedBytes: 1, mailboxes: 1 }]),
    ).toBeNull();
    const same = "2026-01-01T00:00:00Z";
    expect(
      computeGrowth([
        { runId: "a", at: same, totalProtectedBytes: 1, mailboxes: 1 },
        { runId: "b", at: same, totalProtectedBytes: 2, mailboxes: 1 },
      ]),
    ).toBeNull();
    const g = computeGrowth([
      { runId: "a", at: "2026-01-01T00:00:00Z", totalProtectedBytes: 0, mailboxes: 1 },
      { runId: "b", at: "2026-01-02T00:00:00Z", totalProtectedBytes: 10, mailboxes: 1 },
    ])!;
    expect(g.annualisedPercent).toBeNull();
    expect(g.annualisedBytes).toBeCloseTo(3652.5, 6);
  });
});

describe("computeBackupComparison", () => {
  it("computes data reduction and capacity per user", () => {
    const t = aggregateUsage([mailbox("a", 600), mailbox("b", 400)]);
    const c = computeBackupComparison(t, 250);
    expect(c.dataReductionPercent).toBe(75); // (1000 − 250) / 1000
    expect(c.capacityPerUserBytes).toBe(125); // 250 / 2
  });
  it("allows a negative reduction and never divides by zero", () => {
    expect(computeBackupComparison(aggregateUsage([mailbox("a", 100)]), 150).dataReductionPercent).toBe(-50);
    const empty = computeBackupComparison(aggregateUsage([]), 10);
    expect(empty.dataReductionPercent).toBeNull();
    expect(empty.capacityPerUserBytes).toBeNull();
  });
});
