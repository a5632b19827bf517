import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../../../../test/helpers/cert-fixtures.js";
import { capturedContext } from "../../../../test/helpers/cli.js";
import {
  type FakeVb365,
  ORG_ID,
  sampleData,
  startFakeVb365,
  TENANT_ID,
} from "../../../../test/helpers/vb365-fake.js";
import type { ResolvedConnection } from "../../../config/connection.js";
import type { TenantTarget } from "../../../report/usage-report.js";
import { prepareBackup, vb365SettingsFrom } from "./vb365.js";

let fake: FakeVb365 | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const PASSWORD = "P@ss w0rd&=x";

function entry(name: string, organization: string, vb365?: { server: string; caFile: string }) {
  const target: TenantTarget = { name, organization, connect: async () => ({}) as never };
  const resolved = {
    appId: "00000000-0000-0000-0000-000000000001",
    organization,
    certificate: { kind: "thumbprint", thumbprint: "AA" },
    endpoints: {},
    home: "/nonexistent",
    ...(vb365
      ? {
          profile: {
            name,
            organization,
            appId: "x",
            environment: "O365Default",
            vb365: { ...vb365, username: "DOMAIN\\svc-report" },
          },
        }
      : {}),
  } as unknown as ResolvedConnection;
  return { target, resolved };
}

describe("prepareBackup (one VB365 sign-in per server)", () => {
  it("several tenants on one server share one sign-in; a tenant VB365 does not know is skipped, not fatal", async () => {
    const data = sampleData(2);
    data.organizations.push({
      id: "99999999-0000-4000-8000-000000000009",
      name: "woodgrove.onmicrosoft.com",
      msid: "w",
    });
    data.usedRepositories["99999999-0000-4000-8000-000000000009"] = [];
    fake = await startFakeVb365(data);
    const dir = await tempDir("exo-cba-vb365-prep-");
    const caFile = join(dir, "vb.pem");
    await writeFile(caFile, fake.certPem);
    const settings = { server: fake.url, caFile };
    const entries = [
      entry("contoso", "contoso.onmicrosoft.com", settings),
      entry("woodgrove", "woodgrove.onmicrosoft.com", settings),
      entry("nobody", "nobody.onmicrosoft.com", settings),
      entry("plain", "plain.onmicrosoft.com"),
    ];
    const c = capturedContext({ VB365_PASSWORD: PASSWORD });
    const sessions = await prepareBackup(entries, {}, c.ctx);
    expect(fake.requests.filter((r) => r.path === "/v8/token")).toHaveLength(1);
    const [contoso, woodgrove, nobody, plain] = entries.map((e) => e.target.backup);
    expect(contoso?.read).toBeTypeOf("function");
    expect(woodgrove?.read).toBeTypeOf("function");
    expect(nobody?.error?.message).toContain("has no organization named nobody.onmicrosoft.com");
    expect(plain).toBeUndefined();
    expect(c.stderr()).toContain("warning: tenant nobody: the backup side is skipped");
    const snap = await contoso!.read!();
    expect(snap.organization.id).toBe(ORG_ID);
    await sessions.close();
    expect(fake.requests.at(-1)!.path).toBe("/v8/token/logout");
    expect(fake.requests.filter((r) => r.path === "/v8/token")).toHaveLength(1);
  });

  it("with one tenant a VB365 problem stops the command with its own error", async () => {
    fake = await startFakeVb365(sampleData(1));
    const dir = await tempDir("exo-cba-vb365-prep-");
    const caFile = join(dir, "vb.pem");
    await writeFile(caFile, fake.certPem);
    const c = capturedContext({ VB365_PASSWORD: "wrong" });
    await expect(
      prepareBackup([entry("contoso", "contoso.onmicrosoft.com", { server: fake.url, caFile })], {}, c.ctx),
    ).rejects.toMatchObject({ exitCode: 3 });
  });
});

describe("VB365 settings", () => {
  it("flags, then VB365_* variables, then the profile; --no-vb365 turns the profile's off", () => {
    const profile = {
      name: "p",
      organization: "o",
      appId: "a",
      environment: "O365Default",
      vb365: { server: "https://saved:4443", username: "saved", certificateFingerprint: "AA" },
    };
    expect(vb365SettingsFrom({}, {}, profile)).toEqual({
      server: "https://saved:4443",
      username: "saved",
      organization: undefined,
      repositories: undefined,
      certificateFingerprint: "AA",
      caFile: undefined,
    });
    expect(
      vb365SettingsFrom(
        { vb365Server: "https://other:4443", vb365Repository: "A, B" },
        { VB365_USERNAME: "env", VB365_ORGANIZATION: TENANT_ID },
        profile,
      ),
    ).toEqual({
      server: "https://other:4443",
      username: "env",
      organization: TENANT_ID,
      repositories: ["A", "B"],
      // the saved pin belongs to the saved server, not to another one
      certificateFingerprint: undefined,
      caFile: undefined,
    });
    expect(
      vb365SettingsFrom({ vb365CaFile: "/ca.pem" }, {}, profile)?.certificateFingerprint,
    ).toBeUndefined();
    expect(vb365SettingsFrom({ vb365: false }, {}, profile)).toBeUndefined();
    expect(vb365SettingsFrom({}, {}, undefined)).toBeUndefined();
  });
});
