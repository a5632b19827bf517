import { describe, expect, it } from "vitest";
import { renderVb365Columns, roundHalfEven, toMB, VB365_COLUMNS, vb365Columns } from "./vb365-columns.js";

const MiB = 1_048_576;

describe("PowerShell's [math]::Round", () => {
  it("rounds midpoints to the even neighbour, like .NET Math.Round", () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5].map(roundHalfEven)).toEqual([0, 2, 2, 4, 0, -2, -2]);
    expect([2.4999, 2.5001, 115.7134, 18.309859].map(roundHalfEven)).toEqual([2, 3, 116, 18]);
  });

  it("ToMB() truncates", () => {
    expect([MiB - 1, MiB, 2 * MiB - 1].map(toMB)).toEqual([0, 1, 1]);
  });
});

describe("the original script's seven columns", () => {
  it("are computed as the script does, worked by hand", () => {
    // 6 protected mailboxes whose ToMB sizes sum to 142; object storage holds 115.5 MiB, the local
    // repository 0 bytes (the reference's README sample: 28 | 6 | 142 | 0 | 116 | …).
    const row = vb365Columns({
      recipients: 28,
      backedUpMailboxes: 6,
      mailboxSizeMB: 142,
      usedSpaceBytes: 0,
      objectStorageUsedSpaceBytes: 115.5 * MiB,
    });
    // col 5: 115.5 → 116 (even); S = 116 because it is above 0
    // col 6: (142 − 116) / 142 × 100 = 18.3098… → 18
    // col 7: 116 / 6 = 19.333… → 19
    expect(row).toEqual({
      "M365 Mailboxes": 28,
      "Backed up Mailboxes on Repo": 6,
      "M365 Mailbox Size (MB)": 142,
      "Stored on Local Repo (MB)": 0,
      "Stored on Object Repo (MB)": 116,
      "Data Reduction in %": 18,
      "Used Capacity per User (MB)": 19,
    });
  });

  it("takes the local figure when object storage is 0, rounds before dividing, and can go negative", () => {
    const row = vb365Columns({
      recipients: 3,
      backedUpMailboxes: 4,
      mailboxSizeMB: 8,
      // 10.5 MiB → 10 (even); 10 / 4 = 2.5 → 2 (even); (8 − 10) / 8 × 100 = −25
      usedSpaceBytes: 10.5 * MiB,
      objectStorageUsedSpaceBytes: 0.4 * MiB,
    });
    expect(row["Stored on Local Repo (MB)"]).toBe(10);
    expect(row["Stored on Object Repo (MB)"]).toBe(0);
    expect(row["Used Capacity per User (MB)"]).toBe(2);
    expect(row["Data Reduction in %"]).toBe(-25);
  });

  it("guards the script's divisions by zero (nothing protected, no size)", () => {
    const row = vb365Columns({
      recipients: 5,
      backedUpMailboxes: 0,
      mailboxSizeMB: 0,
      usedSpaceBytes: 0,
      objectStorageUsedSpaceBytes: 0,
    });
    expect(row["Data Reduction in %"]).toBeNull();
    expect(row["Used Capacity per User (MB)"]).toBeNull();
  });

  it("prints exactly the seven headers, in the script's order, then the values", () => {
    const text = renderVb365Columns([
      vb365Columns({
        recipients: 28,
        backedUpMailboxes: 6,
        mailboxSizeMB: 142,
        usedSpaceBytes: 0,
        objectStorageUsedSpaceBytes: 115.5 * MiB,
      }),
    ]);
    const [header, dashes, values] = text.split("\n");
    expect(VB365_COLUMNS).toHaveLength(7);
    expect(header).toBe(
      "M365 Mailboxes Backed up Mailboxes on Repo M365 Mailbox Size (MB) Stored on Local Repo (MB) Stored on Object Repo (MB) Data Reduction in % Used Capacity per User (MB)",
    );
    expect(dashes!.split(" ")).toHaveLength(7);
    expect(values!.trim().split(/\s+/)).toEqual(["28", "6", "142", "0", "116", "18", "19"]);
  });
});
