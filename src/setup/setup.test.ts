import { describe, expect, it } from "vitest";
import { parseDuration } from "../cli/option-schemas.js";
import { resolveEndpoints } from "../cloud/environments.js";
import { UsageError } from "../errors.js";
import { connectionSnippets } from "./connection-snippets.js";
import { failureSummary, parseRole, uniqueNameFor } from "./setup.js";

describe("uniqueNameFor", () => {
  it("is deterministic per app name and tenant, and readable", () => {
    const tid = "6BABCAAD-604B-40AC-A9D7-9FD97C0B779F";
    expect(uniqueNameFor("exo-cba", tid)).toBe("exo-cba-6babcaad-604b-40ac-a9d7-9fd97c0b779f");
    expect(uniqueNameFor("EXO Reports (prod)", tid)).toBe(
      "exo-reports-prod-6babcaad-604b-40ac-a9d7-9fd97c0b779f",
    );
    expect(uniqueNameFor("exo-cba", "00000000-0000-0000-0000-000000000001")).not.toBe(
      uniqueNameFor("exo-cba", tid),
    );
  });
});

describe("parseRole", () => {
  it("maps --role names and template ids to the pinned template ids", () => {
    expect(parseRole("global-reader").templateId).toBe("f2ef992c-3afb-46b9-b7cf-a126ee74c451");
    expect(parseRole("exchange-administrator").templateId).toBe("29232cdf-9323-42fd-ade2-1d097af3e4de");
    expect(parseRole("31392ffb-586c-42d1-9346-e59415a2cc4e").name).toBe("exchange-recipient-administrator");
    expect(() => parseRole("directory-readers")).toThrow(UsageError);
  });
});

describe("failureSummary", () => {
  it("lists what is in place and how to resume or remove it", () => {
    const text = failureSummary(
      {
        plan: { status: "done", action: "exists" },
        application: { status: "done", action: "created", objectId: "app-1" },
        certificate: { status: "done", action: "updated" },
        "service-principal": { status: "failed", action: "exists" },
      },
      "contoso.onmicrosoft.com",
      "reports",
    );
    expect(text).toBe(
      "Stopped at: service principal (enterprise app). In place: application registration (created app-1); " +
        "certificate on the application (updated). Run the same command again to resume, or " +
        "`exo-cba teardown --organization contoso.onmicrosoft.com --app-name reports` to remove what exists.",
    );
  });

  it("says nothing changed when the first write failed", () => {
    expect(
      failureSummary({ application: { status: "failed", action: "exists" } }, "c.onmicrosoft.com", "exo-cba"),
    ).toBe("Stopped at: application registration. Nothing was changed in the tenant.");
  });
});

describe("connectionSnippets", () => {
  const base = {
    appId: "11111111-2222-3333-4444-555555555555",
    organization: "contoso.onmicrosoft.com",
    thumbprint: "AB".repeat(20),
    profile: "contoso",
  };

  it("adds the national cloud to the PowerShell line and the environment", () => {
    const s = connectionSnippets({ ...base, endpoints: resolveEndpoints("O365USGovGCCHigh", {}) });
    expect(s.powershell).toBe(
      `Connect-ExchangeOnline -CertificateThumbprint ${"AB".repeat(20)} -AppId ${base.appId} -Organization contoso.onmicrosoft.com -ExchangeEnvironmentName O365USGovGCCHigh`,
    );
    expect(s.environment.EXO_ENVIRONMENT).toBe("O365USGovGCCHigh");
    expect(s.powershellFilePath).toContain("-CertificateFilePath ./exo-cba-abababab.pfx");
    expect(s.exportPfx).toBe(
      `exo-cba cert export ${"AB".repeat(20)} --pfx ./exo-cba-abababab.pfx --password-file ./pfx-password.txt`,
    );
  });

  it("carries custom endpoints (emulator) into the environment variables", () => {
    const endpoints = resolveEndpoints(undefined, {
      EXO_AUTHORITY_HOST: "https://127.0.0.1:5000",
      EXO_GRAPH_ENDPOINT: "https://127.0.0.1:5001",
      EXO_EXCHANGE_ENDPOINT: "https://127.0.0.1:5002",
    });
    const s = connectionSnippets({ ...base, endpoints });
    expect(s.environment).toEqual({
      EXO_APP_ID: base.appId,
      EXO_ORGANIZATION: "contoso.onmicrosoft.com",
      EXO_CERTIFICATE_THUMBPRINT: "AB".repeat(20),
      EXO_AUTHORITY_HOST: "https://127.0.0.1:5000",
      EXO_GRAPH_ENDPOINT: "https://127.0.0.1:5001",
      EXO_EXCHANGE_ENDPOINT: "https://127.0.0.1:5002",
    });
  });
});

describe("parseDuration", () => {
  it("reads seconds by default and ms/s/m/h suffixes", () => {
    expect(parseDuration("300")).toBe(300_000);
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("5m")).toBe(300_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("0")).toBeUndefined();
    expect(parseDuration("soon")).toBeUndefined();
  });
});
