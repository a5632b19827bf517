import { describe, expect, it } from "vitest";
import { createMailboxDataset } from "../../src/data/mailboxes.js";
import { mailboxRow, mailboxRowJson } from "../../src/exchange/properties.js";

describe("mailboxRowJson", () => {
  it("is byte-for-byte JSON.stringify(mailboxRow) for every kind of mailbox", () => {
    const tenant = { id: "t-1", domain: "fabrikam.onmicrosoft.com", displayName: "Fabrikam" };
    const d = createMailboxDataset({ seed: 3, count: 400, domain: tenant.domain, tenantId: tenant.id });
    const kinds = new Set<string>();
    for (let i = 0; i < d.count; i++) {
      const m = d.mailbox(i);
      kinds.add(`${m.recipientTypeDetails}/${m.inactive}/${m.archiveStatus}/${m.lastLogonTime === null}`);
      expect(mailboxRowJson(m, tenant)).toBe(JSON.stringify(mailboxRow(m, tenant)));
    }
    // the comparison covered discovery, user, shared, room, equipment, inactive, archive and never-logged-on rows
    expect(kinds.size).toBeGreaterThan(8);
  });
});
