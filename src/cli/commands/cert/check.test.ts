import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeKeyedCertificate } from "../../../../test/helpers/ops-certs.js";
import { jsonRecords, runCli } from "../../../../test/helpers/ops-cli.js";
import { saveProfile } from "../../../config/profiles.js";

// Real clock here (the CLI has no clock flag): one certificate valid a year, one for 10 days.
let home: string;
let shortThumb: string;
beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "exo-cli-check-"));
  const long = await makeKeyedCertificate(home, "long.contoso.com");
  const short = await makeKeyedCertificate(home, "short.contoso.com", {
    notAfter: new Date(Date.now() + 10 * 86_400_000 + 3_600_000),
  });
  shortThumb = short.thumbprint;
  const base = {
    organization: "contoso.onmicrosoft.com",
    appId: "11111111-2222-3333-4444-555555555555",
    environment: "O365Default",
  };
  await saveProfile(home, { ...base, name: "long", certificateThumbprint: long.thumbprint });
  await saveProfile(home, { ...base, name: "short", certificateThumbprint: short.thumbprint });
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("exo-cba cert check", () => {
  it("exits 8 with one line per certificate needing attention, data on stdout", async () => {
    const r = await runCli(["cert", "check", "--output", "json"], { EXO_CBA_HOME: home });
    expect(r.code).toBe(8);
    const rows = JSON.parse(r.stdout) as Array<{ profile: string; status: string }>;
    expect(rows.map((x) => [x.profile, x.status])).toEqual([
      ["long", "ok"],
      ["short", "expiring"],
    ]);
    expect(r.stderr).toContain(`EXPIRING: profile short, ${shortThumb}: expires in 10 days`);
    expect(r.stderr).not.toContain("profile long");
  });

  it("exits 0 when nothing expires within --warn-days, or for a healthy profile", async () => {
    expect((await runCli(["cert", "check", "--warn-days", "5"], { EXO_CBA_HOME: home })).code).toBe(0);
    expect((await runCli(["cert", "check", "--profile", "long"], { EXO_CBA_HOME: home })).code).toBe(0);
  });

  it("logs a cert.check record with --log-format json and makes no network call", async () => {
    // Endpoints that cannot be reached: the command must not need them.
    const r = await runCli(["--log-format", "json", "cert", "check"], {
      EXO_CBA_HOME: home,
      EXO_AUTHORITY_HOST: "https://127.0.0.1:1",
      EXO_GRAPH_ENDPOINT: "https://127.0.0.1:1",
      EXO_EXCHANGE_ENDPOINT: "https://127.0.0.1:1",
    });
    expect(r.code).toBe(8);
    expect(jsonRecords(r.stderr).find((x) => x.event === "cert.check")).toMatchObject({
      certificates: 2,
      problems: 1,
    });
  });

  it("refuses a negative --warn-days", async () => {
    expect((await runCli(["cert", "check", "--warn-days", "-1"], { EXO_CBA_HOME: home })).code).toBe(2);
  });
});
