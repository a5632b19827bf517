import { describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import { mergeParametersJson, parseCmdletArguments } from "./powershell-args.js";

describe("parseCmdletArguments", () => {
  it("reads -Name value, switches, -Switch:$false, lists and booleans", () => {
    expect(
      parseCmdletArguments([
        "-Identity",
        "adele@contoso.com",
        "-Archive",
        "-IncludeInactiveMailbox:$false",
        "-RecipientTypeDetails",
        "UserMailbox,SharedMailbox",
        "-HiddenFromAddressListsEnabled",
        "$true",
        "-ForwardingAddress",
        "$null",
        "-ResultSize",
        "250",
        "-Name:Sales",
        "-Count",
        "10",
      ]),
    ).toEqual({
      Identity: "adele@contoso.com",
      Archive: true,
      IncludeInactiveMailbox: false,
      RecipientTypeDetails: ["UserMailbox", "SharedMailbox"],
      HiddenFromAddressListsEnabled: true,
      ForwardingAddress: null,
      ResultSize: 250,
      Name: "Sales",
      Count: "10",
    });
  });

  it("keeps quoted values whole, negative numbers as values, and ignores a single --", () => {
    expect(parseCmdletArguments(["--", "-DisplayName", "'Smith, John'", "-Offset", "-5", "-Last"])).toEqual({
      DisplayName: "Smith, John",
      Offset: "-5",
      Last: true,
    });
    expect(parseCmdletArguments(["-Members", "a,'b,c',d"])).toEqual({ Members: ["a", "b,c", "d"] });
    expect(parseCmdletArguments(["-ResultSize", "Unlimited"])).toEqual({ ResultSize: "Unlimited" });
  });

  it("refuses stray values and repeated parameters", () => {
    expect(() => parseCmdletArguments(["adele"])).toThrow(UsageError);
    expect(() => parseCmdletArguments(["-Identity", "a", "-identity", "b"])).toThrow(/twice/);
  });
});

describe("mergeParametersJson", () => {
  it("merges a JSON object and refuses invalid JSON, non-objects and duplicates", () => {
    expect(mergeParametersJson({ Identity: "a" }, '{"EmailAddresses":{"Add":["smtp:x@y"]}}')).toEqual({
      Identity: "a",
      EmailAddresses: { Add: ["smtp:x@y"] },
    });
    expect(() => mergeParametersJson({}, "{nope")).toThrow(/not valid JSON/);
    expect(() => mergeParametersJson({}, "[1]")).toThrow(/JSON object/);
    expect(() => mergeParametersJson({ Identity: "a" }, '{"identity":"b"}')).toThrow(/both/);
  });
});
