import { describe, expect, it } from "vitest";
import { createMailboxDataset } from "../../src/data/mailboxes.js";
import { createVb365Dataset, vb365Parameters } from "../../src/vb365/data.js";

/** The backup decisions against their parameters, at a scale where shares are measurable. */

const TENANT = { id: "7c1d9d8a-5d2e-4c1b-9a57-000000000001", domain: "contoso.onmicrosoft.com" };
const REF = Date.UTC(2026, 10, 20, 9, 0, 0);

function make(count: number, options = {}, seed = 5) {
  const mailboxes = createMailboxDataset({ seed, count, domain: TENANT.domain, tenantId: TENANT.id });
  const vb = createVb365Dataset({
    mailboxes,
    tenantId: TENANT.id,
    domain: TENANT.domain,
    parameters: vb365Parameters(seed, REF, options),
  });
  return { mailboxes, vb };
}

describe("VB365 backup data", () => {
  it("at 30,000 mailboxes: shares follow the parameters and the row lists agree with the truth", () => {
    const { mailboxes, vb } = make(30_000);
    const truth = vb.expectedBackup();
    const usage = mailboxes.expectedUsage();
    let users = 0;
    let resources = 0;
    let usersProtected = 0;
    let resourcesProtected = 0;
    let withArchive = 0;
    const protectedSet = new Set(truth.protectedMailboxes);
    for (let i = 0; i < mailboxes.count; i++) {
      const m = mailboxes.mailbox(i);
      if (m.inactive || m.recipientTypeDetails === "DiscoveryMailbox") continue;
      const p = protectedSet.has(m.primarySmtpAddress.toLowerCase());
      if (m.recipientTypeDetails === "UserMailbox") {
        users++;
        if (p) usersProtected++;
      } else {
        resources++;
        if (p) resourcesProtected++;
      }
      if (p && m.archive) withArchive++;
    }
    const archiveSet = new Set(truth.protectedArchives);
    for (const email of archiveSet) expect(protectedSet.has(email)).toBe(true);
    const archiveProtected = archiveSet.size;
    expect(usersProtected / users).toBeCloseTo(0.9, 1);
    expect(resourcesProtected / resources).toBeCloseTo(0.5, 1);
    expect(archiveProtected / withArchive).toBeCloseTo(0.85, 1);
    expect(truth.stale.length / truth.protectedMailboxes.length).toBeCloseTo(0.05, 1);
    expect(truth.orphaned).toHaveLength(600);
    expect(truth.protectedMailboxes.length + truth.unprotected.length).toBe(usage.mailboxes);
    // orphans really are absent from Exchange
    for (const o of truth.orphaned.slice(0, 200)) expect(mailboxes.findIndex(o.email)).toBeUndefined();
    // the rows served over HTTP come from other code (row lists + usage()); they must agree
    for (const [r, repo] of truth.repositories.entries()) {
      const codes = vb.rows(r);
      expect(codes.length).toBe(repo.mailboxRows + repo.archiveRows);
      const u = vb.usage(r);
      expect(u.usedSpaceBytes).toBe(repo.usedSpaceBytes);
      expect(u.objectStorageUsedSpaceBytes).toBe(repo.objectStorageUsedSpaceBytes);
      expect(u.localCacheUsedSpaceBytes).toBe(repo.localCacheUsedSpaceBytes);
      expect(repo.storedMailBytes).toBe(Math.round(repo.sourceMailBytes * 0.6));
    }
    const [local, object, copy] = truth.repositories;
    expect(local!.mailboxRows / (local!.mailboxRows + object!.mailboxRows)).toBeCloseTo(0.4, 1);
    expect(copy!.mailboxRows).toBe(0);
    expect(object!.otherWorkloadBytes).toBe(Math.round(object!.storedMailBytes * 0.6));
    // exchange bytes of protected rows never exceed the tenant's total
    expect(local!.exchangeBytesOfProtected + object!.exchangeBytesOfProtected).toBeLessThan(
      usage.totalProtectedBytes,
    );
  });

  it("protects everything eligible at share 1 and nothing at share 0", () => {
    const all = make(400, {
      userMailboxShare: 1,
      resourceMailboxShare: 1,
      archiveShare: 1,
      staleShare: 0,
      orphanShare: 0,
    });
    const t = all.vb.expectedBackup();
    expect(t.unprotected.map((u) => u.type)).toEqual(["DiscoveryMailbox"]);
    expect(t.stale).toEqual([]);
    expect(t.orphaned).toEqual([]);
    expect(t.protectedArchives.length).toBe(all.mailboxes.expectedUsage().archives);
    const none = make(400, { userMailboxShare: 0, resourceMailboxShare: 0, orphanShare: 0 });
    const n = none.vb.expectedBackup();
    expect(n.protectedMailboxes).toEqual([]);
    expect(
      n.repositories.every((r) => r.usedSpaceBytes === 0 && (r.objectStorageUsedSpaceBytes ?? 0) === 0),
    ).toBe(true);
    expect(n.licensedUsers.total).toBe(0);
  });

  it("refuses shares outside 0..1", () => {
    expect(() => vb365Parameters(1, REF, { userMailboxShare: 1.5 })).toThrow(RangeError);
    expect(() => vb365Parameters(1, REF, { dataReduction: 1 })).toThrow(RangeError);
    expect(() => vb365Parameters(1, REF, { staleDays: -1 })).toThrow(RangeError);
  });
});
