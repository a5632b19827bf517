import { describe, expect, it } from "vitest";
import { MAILBOX_CSV_COLUMNS, renderMailboxCsv } from "../src/report/csv.js";
import type { MailboxUsage } from "../src/report/types.js";
import { parseCsv } from "./helpers/report-csv.js";

const base: MailboxUsage = {
  guid: "0b1c2d3e-0000-0000-0000-000000000001",
  identity: "alice@contoso.com",
  displayName: 'Alice "Al" Example, Sales',
  recipientTypeDetails: "UserMailbox",
  category: "user",
  primaryBytes: 1_234_567_890_123,
  primaryItems: 42,
  deletedBytes: 1000,
  deletedItems: 3,
  hasArchive: true,
  archiveBytes: 5_000_000,
  archiveItems: 50,
  archiveDeletedBytes: 7,
  archiveDeletedItems: 1,
  lastLogonTime: "2026-10-01T08:00:00.0000000+00:00",
};

describe("mailbox CSV", () => {
  it("parses back with an RFC 4180 parser: header names, one row per mailbox, archive columns on the same row", () => {
    const rows: MailboxUsage[] = [
      base,
      {
        ...base,
        guid: "g2",
        identity: "room@contoso.com",
        displayName: "Room\nwith newline",
        recipientTypeDetails: "RoomMailbox",
        category: "room",
        hasArchive: false,
        archiveBytes: null,
        archiveItems: null,
        archiveDeletedBytes: null,
        archiveDeletedItems: null,
        lastLogonTime: null,
      },
      { ...base, guid: "g3", identity: "eve@contoso.com", displayName: '=HYPERLINK("http://x")' },
    ];
    const text = renderMailboxCsv("contoso", rows);
    const [header, ...records] = parseCsv(text);
    expect(header).toEqual([
      "Tenant",
      "Identity",
      "DisplayName",
      "RecipientTypeDetails",
      "Category",
      "ExchangeGuid",
      "PrimaryBytes",
      "PrimaryItems",
      "DeletedItemsBytes",
      "DeletedItems",
      "HasArchive",
      "ArchiveBytes",
      "ArchiveItems",
      "ArchiveDeletedItemsBytes",
      "ArchiveDeletedItems",
      "TotalProtectedBytes",
      "LastLogonTime",
    ]);
    expect(header).toEqual([...MAILBOX_CSV_COLUMNS]);
    // every byte column is named ...Bytes
    expect(header!.filter((h) => /bytes/i.test(h)).every((h) => h.endsWith("Bytes"))).toBe(true);
    expect(records).toHaveLength(3);
    const get = (r: string[], col: string) => r[header!.indexOf(col)];
    const alice = records[0]!;
    expect(get(alice, "DisplayName")).toBe('Alice "Al" Example, Sales');
    expect(get(alice, "PrimaryBytes")).toBe("1234567890123");
    expect(get(alice, "ArchiveBytes")).toBe("5000000");
    expect(get(alice, "ArchiveItems")).toBe("50");
    // 1234567890123 + 1000 + 5000000 + 7
    expect(get(alice, "TotalProtectedBytes")).toBe("1234572891130");
    const room = records[1]!;
    expect(get(room, "DisplayName")).toBe("Room\nwith newline");
    expect(get(room, "HasArchive")).toBe("false");
    expect(get(room, "ArchiveBytes")).toBe("");
    expect(get(room, "LastLogonTime")).toBe("");
    // a formula-looking name is neutralised for spreadsheets
    expect(get(records[2]!, "DisplayName")).toBe('\'=HYPERLINK("http://x")');
    expect(text.endsWith("\r\n")).toBe(true);
  });
});
