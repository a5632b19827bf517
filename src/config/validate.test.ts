import { describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import { normalizeThumbprint, validateAppId, validateOrganization } from "./validate.js";

describe("normalizeThumbprint", () => {
  it("accepts any case, spaces and colons", () => {
    const expected = "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678";
    expect(normalizeThumbprint("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678")).toBe(expected);
    expect(normalizeThumbprint("A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:12:34:56:78")).toBe(expected);
    expect(normalizeThumbprint("a1b2 c3d4 e5f6 0718 293a 4b5c 6d7e 8f90 1234 5678")).toBe(expected);
  });
  it("refuses what is not 40 or 64 hex characters", () => {
    expect(() => normalizeThumbprint("xyz")).toThrow(UsageError);
    expect(() => normalizeThumbprint("A1B2C3D4E5F60718293A4B5C6D7E8F901234567")).toThrow(
      /not a certificate thumbprint/,
    );
  });
});

describe("validateAppId / validateOrganization", () => {
  it("accepts GUIDs and domains, lower-cased", () => {
    expect(validateAppId("11111111-2222-3333-4444-55555555AAAA")).toBe(
      "11111111-2222-3333-4444-55555555aaaa",
    );
    expect(validateOrganization("Contoso.onmicrosoft.com")).toBe("contoso.onmicrosoft.com");
  });
  it("refuses malformed values with exit code 2", () => {
    expect(() => validateAppId("not-a-guid")).toThrow(UsageError);
    try {
      validateOrganization("contoso");
      expect.unreachable();
    } catch (e) {
      expect((e as UsageError).exitCode).toBe(2);
      expect((e as UsageError).hint).toMatch(/onmicrosoft\.com/);
    }
  });
});
