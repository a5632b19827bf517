import { describe, expect, it } from "vitest";
import { invokeCommandBody, parseResultSize, serializeParameters } from "./serialize.js";

// Expected values are the module's wire forms from docs/exchange-rest.md §2, written out by hand.
describe("serializeParameters (docs/exchange-rest.md §2)", () => {
  it("switches are booleans, strings stay strings, multi-values are arrays, $null is null", () => {
    expect(
      serializeParameters({
        Archive: true,
        Confirm: false,
        Identity: "a@contoso.com",
        RecipientTypeDetails: ["UserMailbox", "SharedMailbox"],
        ResultSize: "Unlimited",
        ForwardingAddress: null,
      }),
    ).toEqual({
      Archive: true,
      Confirm: false,
      Identity: "a@contoso.com",
      RecipientTypeDetails: ["UserMailbox", "SharedMailbox"],
      ResultSize: "Unlimited",
      ForwardingAddress: null,
    });
  });

  it("tags hashtables recursively and hashtable arrays with a sibling collection type", () => {
    expect(
      serializeParameters({
        EmailAddresses: { Add: ["smtp:x@y"], Remove: { Nested: "v" } },
        Rules: [{ A: 1 }, { B: 2 }],
      }),
    ).toEqual({
      EmailAddresses: {
        "@odata.type": "#Exchange.GenericHashTable",
        Add: ["smtp:x@y"],
        Remove: { "@odata.type": "#Exchange.GenericHashTable", Nested: "v" },
      },
      "Rules@odata.type": "#Collection(Exchange.GenericHashTable)",
      Rules: [
        { "@odata.type": "#Exchange.GenericHashTable", A: 1 },
        { "@odata.type": "#Exchange.GenericHashTable", B: 2 },
      ],
    });
  });

  it("dates go in UTC without Z, byte arrays as ByteArrayType, filter booleans as 'True'/'False'", () => {
    expect(
      serializeParameters({
        StartDate: new Date("2026-03-01T10:20:30.456+02:00"),
        FileData: new Uint8Array([1, 2, 3]),
        Filter: "HiddenFromAddressListsEnabled -eq $true -and IsShared -eq $FALSE",
      }),
    ).toEqual({
      StartDate: "2026-03-01T08:20:30",
      FileData: { "@odata.type": "#Exchange.ByteArrayType", Data: "AQID" },
      Filter: "HiddenFromAddressListsEnabled -eq 'True' -and IsShared -eq 'False'",
    });
  });

  it("builds the CmdletInput body", () => {
    expect(invokeCommandBody("Get-Mailbox", { Identity: "a@contoso.com", ResultSize: "Unlimited" })).toBe(
      '{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{"Identity":"a@contoso.com","ResultSize":"Unlimited"}}}',
    );
    expect(invokeCommandBody("Get-OrganizationConfig")).toBe(
      '{"CmdletInput":{"CmdletName":"Get-OrganizationConfig","Parameters":{}}}',
    );
  });

  it("reads ResultSize", () => {
    expect(parseResultSize("unlimited")).toBe(Number.POSITIVE_INFINITY);
    expect(parseResultSize("250")).toBe(250);
    expect(parseResultSize(5)).toBe(5);
    expect(parseResultSize("0")).toBeUndefined();
    expect(parseResultSize("many")).toBeUndefined();
  });
});
