import { describe, expect, it } from "vitest";
import { normalizeRow, parseByteQuantifiedSize } from "./normalize.js";

describe("normalizeRow", () => {
  it("drops type annotations and adds byte counts next to size strings", () => {
    const wire = {
      DisplayName: "Adele",
      "EmailAddresses@odata.type": "#Collection(String)",
      EmailAddresses: ["SMTP:adele@contoso.com"],
      "ExchangeGuid@data.type": "System.Guid",
      "ExchangeGuid@odata.type": "#Guid",
      ExchangeGuid: "2be9c5b1-0000-0000-0000-000000000000",
      TotalItemSize: "1.2 GB (1,288,490,189 bytes)",
      ProhibitSendQuota: "Unlimited",
      Nested: { "X@odata.type": "#Int16", X: 3, Size: "256 KB (262,144 bytes)" },
    };
    expect(normalizeRow(wire)).toEqual({
      DisplayName: "Adele",
      EmailAddresses: ["SMTP:adele@contoso.com"],
      ExchangeGuid: "2be9c5b1-0000-0000-0000-000000000000",
      TotalItemSize: "1.2 GB (1,288,490,189 bytes)",
      TotalItemSizeBytes: 1_288_490_189,
      ProhibitSendQuota: "Unlimited",
      Nested: { X: 3, Size: "256 KB (262,144 bytes)", SizeBytes: 262_144 },
    });
  });

  it("parses sizes only when the bytes part is there", () => {
    expect(parseByteQuantifiedSize("3.322 KB (3,402 bytes)")).toBe(3402);
    expect(parseByteQuantifiedSize("0 B (0 bytes)")).toBe(0);
    expect(parseByteQuantifiedSize("Unlimited")).toBeUndefined();
    expect(parseByteQuantifiedSize(12)).toBeUndefined();
  });
});
