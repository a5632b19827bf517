import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSelfSignedCertificate } from "../src/cert/build.js";
import { generateRsaKeyPair } from "../src/cert/keys.js";
import { toPem } from "../src/cert/pem.js";
import { readProfiles } from "../src/config/profiles.js";
import { runCli } from "./helpers/cli.js";

/**
 * Issue 14 items 8 and 9 as a user meets them: a profile's saved endpoints are used when only
 * EXO_CBA_HOME is set (empty EXO_* variables are unset), and setup refuses an expired or not yet valid
 * certificate before any network call.
 */
let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ mailboxes: 3 });
});
afterAll(async () => {
  await emu?.close();
});

async function bundle(dir: string, name: string, notBefore: Date, notAfter: Date) {
  const keys = await generateRsaKeyPair(2048);
  const der = await buildSelfSignedCertificate({
    dnsName: `${name}.contoso.com`,
    keys: keys.cryptoKeys,
    notBefore,
    notAfter,
  });
  const path = join(dir, `${name}.pem`);
  await writeFile(path, toPem("CERTIFICATE", der) + keys.privateKey.export({ type: "pkcs8", format: "pem" }));
  return path;
}

describe("setup refuses a certificate that is not currently valid", () => {
  const day = 86_400_000;
  for (const [label, from, to, message] of [
    ["expired", -400 * day, -30 * day, /expired on \d{4}-\d\d-\d\dT.*Entra ID refuses expired certificates/],
    ["not yet valid", 30 * day, 400 * day, /is not valid before \d{4}-\d\d-\d\dT/],
  ] as const) {
    it(`${label}: exit 2 before any token or Graph request, nothing saved`, async () => {
      const home = await mkdtemp(join(tmpdir(), "exo-state-setup-"));
      const now = Date.now();
      const file = await bundle(home, label.replace(/ /g, "-"), new Date(now + from), new Date(now + to));
      const before = emu.stats();
      const r = await runCli(
        [
          "setup",
          "--organization",
          emu.tenant.domain,
          "--role",
          "global-reader",
          "--certificate-file-path",
          file,
          "--yes",
        ],
        { ...emu.env, EXO_CBA_HOME: home, EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken() },
      );
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/^hint: /m);
      const after = emu.stats();
      expect([after.tokenRequests, after.graphRequests]).toEqual([
        before.tokenRequests,
        before.graphRequests,
      ]);
      expect((await readProfiles(home)).profiles).toEqual({});
    });
  }
});

describe("a profile's saved custom endpoints", () => {
  it("with only EXO_CBA_HOME (and empty EXO_* variables) `invoke` goes to the profile's endpoints", async () => {
    const home = await mkdtemp(join(tmpdir(), "exo-state-profile-"));
    const setup = await runCli(
      ["setup", "--organization", emu.tenant.domain, "--role", "global-reader", "--yes"],
      {
        ...emu.env,
        EXO_CBA_HOME: home,
        EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken(),
      },
    );
    expect(setup.code, setup.stderr).toBe(0);
    expect(Object.values((await readProfiles(home)).profiles)[0]?.endpoints?.exchangeEndpoint).toBe(
      emu.exchangeEndpoint,
    );

    const before = emu.stats().exchangeRequests;
    const r = await runCli(["invoke", "Get-OrganizationConfig", "--output", "json"], {
      EXO_CBA_HOME: home,
      NODE_EXTRA_CA_CERTS: emu.caFile,
      EXO_AUTHORITY_HOST: "",
      EXO_GRAPH_ENDPOINT: "",
      EXO_EXCHANGE_ENDPOINT: "",
      EXO_ENVIRONMENT: "",
      EXO_ORGANIZATION: "",
    });
    expect(r.code, r.stderr).toBe(0);
    expect(emu.stats().exchangeRequests).toBeGreaterThan(before);
    expect(JSON.stringify(JSON.parse(r.stdout))).toContain(emu.tenant.domain.split(".")[0]);
  });
});
