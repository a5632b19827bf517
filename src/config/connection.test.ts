import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveConnection } from "./connection.js";
import { saveProfile } from "./profiles.js";

/** Where a profile-based command sends its requests: flag > EXO_* > Azure SDK name > profile. */
const APP = "11111111-2222-3333-4444-555555555555";
const saved = {
  authorityHost: "https://127.0.0.1:7001",
  graphEndpoint: "https://127.0.0.1:7002",
  exchangeEndpoint: "https://127.0.0.1:7003",
};

async function homeWithProfile() {
  const home = await mkdtemp(join(tmpdir(), "exo-conn-"));
  await saveProfile(home, {
    name: "emu",
    organization: "contoso.onmicrosoft.com",
    appId: APP,
    certificateThumbprint: "A".repeat(40),
    environment: "O365Default",
    endpoints: saved,
  });
  return home;
}

describe("resolveConnection endpoints", () => {
  it("with only EXO_CBA_HOME set, uses the custom endpoints saved in the profile", async () => {
    const home = await homeWithProfile();
    const r = await resolveConnection({}, { EXO_CBA_HOME: home });
    // a custom (non-Microsoft) Exchange host is its own token resource (docs/invoke.md "Resource and host")
    expect(r.endpoints).toEqual({
      environment: "Custom",
      ...saved,
      exchangeResource: saved.exchangeEndpoint,
      custom: true,
    });
  });

  it("empty EXO_* variables count as unset: the profile still applies", async () => {
    const home = await homeWithProfile();
    const r = await resolveConnection(
      {},
      {
        EXO_CBA_HOME: home,
        EXO_AUTHORITY_HOST: "",
        EXO_GRAPH_ENDPOINT: "",
        EXO_EXCHANGE_ENDPOINT: "",
        EXO_ENVIRONMENT: "",
        EXO_PROFILE: "",
        EXO_APP_ID: "",
        EXO_ORGANIZATION: "",
        EXO_CERTIFICATE_THUMBPRINT: "",
        EXO_CERTIFICATE_FILE_PATH: "",
      },
    );
    expect(r.endpoints.exchangeEndpoint).toBe(saved.exchangeEndpoint);
    expect(r.appId).toBe(APP);
    expect(r.organization).toBe("contoso.onmicrosoft.com");
    expect(r.certificate).toEqual({ kind: "thumbprint", thumbprint: "A".repeat(40) });
  });

  it("an EXO_* endpoint overrides the profile's for that service only", async () => {
    const home = await homeWithProfile();
    const r = await resolveConnection(
      {},
      { EXO_CBA_HOME: home, EXO_EXCHANGE_ENDPOINT: "https://proxy.example:8443" },
    );
    expect(r.endpoints).toEqual({
      environment: "Custom",
      authorityHost: saved.authorityHost,
      graphEndpoint: saved.graphEndpoint,
      exchangeEndpoint: "https://proxy.example:8443",
      exchangeResource: "https://proxy.example:8443",
      custom: true,
    });
  });

  it("a cloud named by flag or EXO_ENVIRONMENT means that cloud's hosts, not the profile's endpoints", async () => {
    const home = await homeWithProfile();
    const byEnv = await resolveConnection({}, { EXO_CBA_HOME: home, EXO_ENVIRONMENT: "O365USGovGCCHigh" });
    expect(byEnv.endpoints.exchangeEndpoint).toBe("https://outlook.office365.us");
    expect(byEnv.endpoints.custom).toBe(false);
    const byFlag = await resolveConnection(
      { exchangeEnvironment: "O365Default" },
      { EXO_CBA_HOME: home, EXO_ENVIRONMENT: "O365USGovGCCHigh" },
    );
    expect(byFlag.endpoints.exchangeEndpoint).toBe("https://outlook.office365.com");
  });

  it("flag > EXO_* > Azure SDK name > profile for the app id", async () => {
    const home = await homeWithProfile();
    const other = (n: number) => `${n}1111111-2222-3333-4444-555555555555`;
    const env = { EXO_CBA_HOME: home, EXO_APP_ID: other(2), AZURE_CLIENT_ID: other(3) };
    expect((await resolveConnection({ appId: other(1) }, env)).appId).toBe(other(1));
    expect((await resolveConnection({}, env)).appId).toBe(other(2));
    expect((await resolveConnection({}, { ...env, EXO_APP_ID: "" })).appId).toBe(other(3));
    expect((await resolveConnection({}, { ...env, EXO_APP_ID: "", AZURE_CLIENT_ID: "" })).appId).toBe(APP);
  });
});
