import { describe, expect, it } from "vitest";
import { CmdletError } from "../../src/exchange/errors.js";
import { compileFilter } from "../../src/exchange/filter.js";

const row = {
  RecipientTypeDetails: "UserMailbox",
  DisplayName: "Adele Vance 000001",
  ArchiveStatus: "None",
  EmailAddresses: ["SMTP:user000001@contoso.onmicrosoft.com", "smtp:user000001@contoso.mail.onmicrosoft.com"],
  IsInactiveMailbox: false,
  CustomAttribute1: "",
};

describe("compileFilter", () => {
  it("compares case-insensitively with -eq and -ne", () => {
    expect(compileFilter("RecipientTypeDetails -eq 'usermailbox'")(row)).toBe(true);
    expect(compileFilter("recipienttypedetails -eq 'SharedMailbox'")(row)).toBe(false);
    expect(compileFilter('ArchiveStatus -ne "Active"')(row)).toBe(true);
  });
  it("supports -like and -notlike wildcards and multi-valued properties", () => {
    expect(compileFilter("DisplayName -like 'adele*'")(row)).toBe(true);
    expect(compileFilter("DisplayName -like '*vance*'")(row)).toBe(true);
    expect(compileFilter("DisplayName -notlike 'Adele*'")(row)).toBe(false);
    expect(compileFilter("EmailAddresses -like 'smtp:*mail.onmicrosoft.com'")(row)).toBe(true);
  });
  it("combines with -and / -or and parentheses, booleans as $true/$false", () => {
    expect(compileFilter("IsInactiveMailbox -eq $false -and ArchiveStatus -eq 'None'")(row)).toBe(true);
    expect(compileFilter("ArchiveStatus -eq 'Active' -or DisplayName -like 'A*'")(row)).toBe(true);
    expect(compileFilter("(ArchiveStatus -eq 'None') -and (DisplayName -like 'A*')")(row)).toBe(true);
    expect(compileFilter("CustomAttribute1 -eq $null")(row)).toBe(true);
  });
  it("refuses syntax it does not support with the real wording", () => {
    for (const bad of [
      "",
      "DisplayName",
      "DisplayName -gt 'x'",
      "DisplayName -eq 'x' extra",
      "(DisplayName -eq 'x'",
    ]) {
      expect(() => compileFilter(bad), bad).toThrow(CmdletError);
    }
    expect(() => compileFilter("DisplayName -gt 'x'")).toThrow(/Invalid filter syntax/);
  });
});
