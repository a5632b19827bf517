import { describe, expect, it } from "vitest";
import { AuthenticationError } from "../errors.js";
import { authorityMetadataUrl, validateAuthorityMetadata } from "./authority-metadata.js";

const AUTHORITY = "https://login.microsoftonline.com";
const doc = (overrides: Record<string, unknown> = {}) => ({
  issuer: "https://login.microsoftonline.com/aaaaaaaa-0000-0000-0000-000000000001/v2.0",
  authorization_endpoint: `${AUTHORITY}/contoso.onmicrosoft.com/oauth2/v2.0/authorize`,
  token_endpoint: `${AUTHORITY}/contoso.onmicrosoft.com/oauth2/v2.0/token`,
  jwks_uri: `${AUTHORITY}/contoso.onmicrosoft.com/discovery/v2.0/keys`,
  ...overrides,
});

describe("authority metadata", () => {
  it("is fetched from the URL MSAL itself would use for an authority https://host/tenant", () => {
    expect(authorityMetadataUrl(AUTHORITY, "contoso.onmicrosoft.com")).toBe(
      "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration",
    );
  });

  it("accepts Entra's document, and an issuer on another Microsoft login host as MSAL does", () => {
    expect(validateAuthorityMetadata(doc(), AUTHORITY).token_endpoint).toContain("/oauth2/v2.0/token");
    const alias = doc({ issuer: "https://sts.windows.net/aaaaaaaa-0000-0000-0000-000000000001/" });
    expect(validateAuthorityMetadata(alias, AUTHORITY).issuer).toContain("sts.windows.net");
    const emulator = "https://127.0.0.1:8443";
    expect(validateAuthorityMetadata(doc({ issuer: `${emulator}/tid/v2.0` }), emulator).issuer).toBe(
      `${emulator}/tid/v2.0`,
    );
  });

  it("refuses a document without the fields MSAL needs, or with an issuer on a foreign host", () => {
    expect(() => validateAuthorityMetadata({ issuer: doc().issuer }, AUTHORITY)).toThrow(
      "lacks token_endpoint, authorization_endpoint, jwks_uri",
    );
    expect(() => validateAuthorityMetadata("<html>", AUTHORITY)).toThrow(AuthenticationError);
    expect(() =>
      validateAuthorityMetadata(doc({ issuer: "https://evil.example/tid/v2.0" }), AUTHORITY),
    ).toThrow("names an issuer on another host");
    // Same host name on another port, or plain http, is another host.
    const emulator = "https://127.0.0.1:8443";
    expect(() =>
      validateAuthorityMetadata(doc({ issuer: "https://127.0.0.1:9999/t/v2.0" }), emulator),
    ).toThrow("another host");
    expect(() => validateAuthorityMetadata(doc({ issuer: "not a url" }), emulator)).toThrow("another host");
  });
});
