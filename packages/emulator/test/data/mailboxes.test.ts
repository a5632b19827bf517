import { describe, expect, it } from "vitest";
import { parseByteQuantifiedSize } from "../../src/data/formats.js";
import { createMailboxDataset, DISCOVERY_ALIAS } from "../../src/data/mailboxes.js";
import type { UsageTruth } from "../../src/types.js";

const base = { seed: 7, count: 400, domain: "contoso.onmicrosoft.com", tenantId: "tid" };

describe("createMailboxDataset", () => {
  it("gives the same rows for the same seed and different rows for another seed", () => {
    const a = createMailboxDataset(base);
    const b = createMailboxDataset(base);
    const c = createMailboxDataset({ ...base, seed: 8 });
    for (const i of [0, 1, 2, 57, 399]) expect(b.mailbox(i)).toEqual(a.mailbox(i));
    const differing = [1, 2, 3, 4, 5].filter(
      (i) => JSON.stringify(a.mailbox(i)) !== JSON.stringify(c.mailbox(i)),
    );
    expect(differing.length).toBe(5);
    expect(a.mailbox(5).guid).not.toBe(c.mailbox(5).guid);
  });

  it("has exactly one discovery mailbox at index 0 and parseable names for the others", () => {
    const d = createMailboxDataset(base);
    expect(d.mailbox(0).recipientTypeDetails).toBe("DiscoveryMailbox");
    expect(d.mailbox(0).alias).toBe(DISCOVERY_ALIAS);
    const prefixes: Record<string, string> = {
      UserMailbox: "user",
      SharedMailbox: "shared",
      RoomMailbox: "room",
      EquipmentMailbox: "equipment",
    };
    for (let i = 1; i < d.count; i++) {
      const m = d.mailbox(i);
      expect(m.recipientTypeDetails).not.toBe("DiscoveryMailbox");
      expect(m.alias).toBe(`${prefixes[m.recipientTypeDetails]}${String(i).padStart(6, "0")}`);
      expect(m.userPrincipalName).toBe(`${m.alias}@contoso.onmicrosoft.com`);
    }
  });

  it("produces a realistic mix over a larger tenant", () => {
    const d = createMailboxDataset({ ...base, count: 10_000 });
    const truth = d.expectedUsage();
    const share = (n: number | undefined) => (n ?? 0) / d.count;
    expect(share(truth.mailboxesByType.UserMailbox)).toBeGreaterThan(0.76);
    expect(share(truth.mailboxesByType.UserMailbox)).toBeLessThan(0.84);
    expect(share(truth.mailboxesByType.SharedMailbox)).toBeGreaterThan(0.08);
    expect(share(truth.mailboxesByType.SharedMailbox)).toBeLessThan(0.12);
    expect(share(truth.mailboxesByType.RoomMailbox)).toBeGreaterThan(0.03);
    expect(share(truth.mailboxesByType.EquipmentMailbox)).toBeGreaterThan(0.01);
    expect(truth.mailboxesByType.DiscoveryMailbox).toBe(1);
    expect(share(truth.inactiveMailboxes)).toBeGreaterThan(0.02);
    expect(share(truth.inactiveMailboxes)).toBeLessThan(0.04);
    expect(truth.archives / truth.mailboxes).toBeGreaterThan(0.25);
    expect(truth.archives / truth.mailboxes).toBeLessThan(0.35);
    let huge = 0;
    let typical = 0;
    let neverLoggedOn = 0;
    let withoutStatistics = 0;
    const outliers: string[] = [];
    for (let i = 0; i < d.count; i++) {
      const m = d.mailbox(i);
      const bytes = m.primary.totalItemBytes;
      if (bytes >= 50 * 1024 ** 3) huge++;
      if (bytes >= 100e6 && bytes <= 5e9) typical++;
      if (m.lastLogonTime === null) neverLoggedOn++;
      if (m.noStatistics) {
        withoutStatistics++;
        // Never logged on, no store data: nothing in it, no archive.
        if (m.lastLogonTime !== null || bytes !== 0 || m.primary.itemCount !== 0 || m.archive)
          outliers.push(`${i} without statistics but not empty`);
        continue;
      }
      const deletedShare = m.primary.deletedItemBytes / bytes;
      // deleted items 1–10%; items consistent with the size (40–120 KB per item); 100 GB quota
      if (deletedShare < 0.0099 || deletedShare > 0.1001) outliers.push(`${i} deleted share ${deletedShare}`);
      if (bytes / m.primary.itemCount < 30_000) outliers.push(`${i} item size`);
      if (bytes > 100 * 1024 ** 3) outliers.push(`${i} over quota`);
    }
    expect(outliers).toEqual([]);
    expect(huge).toBeGreaterThan(5);
    expect(huge).toBeLessThan(200);
    expect(typical / d.count).toBeGreaterThan(0.6);
    expect(neverLoggedOn).toBeGreaterThan(0);
    // A deterministic share (half of the never-logged-on, Discovery excluded) answers only a warning.
    expect(withoutStatistics).toBeGreaterThan(0.02 * d.count);
    expect(withoutStatistics).toBeLessThan(neverLoggedOn);
    expect(withoutStatistics).toBe(truth.mailboxesWithoutStatistics + countInactiveWithoutStatistics(d));
  });

  it("finds a mailbox by UPN, SMTP, alias, GUIDs and display name, in any case", () => {
    const d = createMailboxDataset(base);
    for (const i of [0, 1, 42, 399]) {
      const m = d.mailbox(i);
      for (const identity of [
        m.userPrincipalName,
        m.primarySmtpAddress.toUpperCase(),
        m.alias,
        m.guid,
        m.externalDirectoryObjectId.toUpperCase(),
        m.displayName,
      ]) {
        expect(d.findIndex(identity), identity).toBe(i);
      }
      if (m.archive) expect(d.findIndex(m.archiveGuid)).toBe(i);
    }
  });

  it("does not find what does not exist", () => {
    const d = createMailboxDataset(base);
    const user = d.mailbox(3);
    for (const identity of [
      "user999999@contoso.onmicrosoft.com",
      `${user.alias}@fabrikam.com`,
      "nobody",
      "",
      "00000000-0000-0000-0000-000000000000",
      user.guid.replace(/^./, user.guid[0] === "a" ? "b" : "a"),
      // a valid name of mailbox 3 but with the wrong type prefix
      `${user.recipientTypeDetails === "UserMailbox" ? "shared" : "user"}000003`,
    ]) {
      expect(d.findIndex(identity), identity).toBeUndefined();
    }
  });

  it("lists non-mailbox recipients after the mailboxes and finds them", () => {
    const d = createMailboxDataset(base);
    expect(d.recipientCount()).toBe(400 + 60);
    const r = d.recipient(410);
    expect(["MailUser", "MailContact", "MailUniversalDistributionGroup", "GroupMailbox"]).toContain(
      r.RecipientTypeDetails,
    );
    expect(d.findRecipientIndex(String(r.Alias))).toBe(410);
    expect(d.findRecipientIndex(String(r.Guid))).toBe(410);
    expect(d.findIndex(String(r.Alias))).toBeUndefined();
    expect(d.recipient(5).Guid).toBe(d.mailbox(5).guid);
  });

  it("expectedUsage equals the sums over mailbox(i) for a small tenant", () => {
    const d = createMailboxDataset({ ...base, count: 300 });
    const sum: UsageTruth = {
      recipients: 0,
      mailboxes: 0,
      mailboxesByType: {},
      inactiveMailboxes: 0,
      archives: 0,
      primaryBytes: 0,
      primaryItems: 0,
      deletedBytes: 0,
      deletedItems: 0,
      archiveBytes: 0,
      archiveItems: 0,
      archiveDeletedBytes: 0,
      totalProtectedBytes: 0,
      mailboxesWithoutStatistics: 0,
    };
    for (let i = 0; i < d.count; i++) {
      const m = d.mailbox(i);
      if (m.inactive) {
        sum.inactiveMailboxes++;
        continue;
      }
      sum.mailboxes++;
      sum.mailboxesByType[m.recipientTypeDetails] = (sum.mailboxesByType[m.recipientTypeDetails] ?? 0) + 1;
      sum.primaryBytes += m.primary.totalItemBytes;
      sum.primaryItems += m.primary.itemCount;
      sum.deletedBytes += m.primary.deletedItemBytes;
      sum.deletedItems += m.primary.deletedItemCount;
      if (m.noStatistics) sum.mailboxesWithoutStatistics++;
      if (m.archive) {
        sum.archives++;
        sum.archiveBytes += m.archive.totalItemBytes;
        sum.archiveItems += m.archive.itemCount;
        sum.archiveDeletedBytes += m.archive.deletedItemBytes;
      }
    }
    for (let i = d.count; i < d.recipientCount(); i++) sum.recipients++;
    sum.recipients += sum.mailboxes;
    sum.totalProtectedBytes =
      sum.primaryBytes + sum.deletedBytes + sum.archiveBytes + sum.archiveDeletedBytes;
    expect(sum.inactiveMailboxes).toBeGreaterThan(0);
    expect(sum.archives).toBeGreaterThan(0);
    expect(sum.mailboxesWithoutStatistics).toBeGreaterThan(0);
    expect(d.expectedUsage()).toEqual(sum);
  });

  it("an empty tenant has no mailboxes and a zero truth", () => {
    const d = createMailboxDataset({ ...base, count: 0 });
    expect(d.recipientCount()).toBe(0);
    expect(d.findIndex(DISCOVERY_ALIAS)).toBeUndefined();
    expect(d.expectedUsage().totalProtectedBytes).toBe(0);
    expect(() => d.mailbox(0)).toThrow(RangeError);
  });
});

describe("sizes round-trip", () => {
  it("every generated size string parses back to the exact bytes", async () => {
    const { formatByteQuantifiedSize } = await import("../../src/data/formats.js");
    const d = createMailboxDataset(base);
    for (let i = 0; i < d.count; i++) {
      const bytes = d.mailbox(i).primary.totalItemBytes;
      expect(parseByteQuantifiedSize(formatByteQuantifiedSize(bytes))).toBe(bytes);
    }
  });
});

function countInactiveWithoutStatistics(d: ReturnType<typeof createMailboxDataset>): number {
  let n = 0;
  for (let i = 0; i < d.count; i++) if (d.mailbox(i).inactive && d.mailbox(i).noStatistics) n++;
  return n;
}
