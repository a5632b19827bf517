import { chmod, readdir } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli, snapshot, tempDir } from "../../../../test/helpers/cert-fixtures.js";
import { saveProfile } from "../../../config/profiles.js";

describe("exo-cba cert list / show / remove", () => {
  let home: string;
  let first: string;
  let second: string;

  beforeAll(async () => {
    home = await tempDir();
    const make = async (name: string, years: string) => {
      const r = await runCli(
        [
          "cert",
          "new",
          "--dns-name",
          name,
          "--years",
          years,
          "--cer-path",
          join(home, `${name}.cer`),
          "-o",
          "json",
        ],
        { EXO_CBA_HOME: home },
      );
      expect(r.code).toBe(0);
      return (JSON.parse(r.stdout) as { thumbprint: string }).thumbprint;
    };
    first = await make("one.contoso.com", "2");
    second = await make("two.contoso.com", "1");
  });

  it("lists soonest expiry first, in every output format", async () => {
    const json = await runCli(["cert", "list", "--output", "json"], { EXO_CBA_HOME: home });
    const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.thumbprint)).toEqual([second, first]);
    expect(rows[0]).toMatchObject({ subject: "CN=two.contoso.com", hasKey: true, origin: "self-signed" });
    expect(rows[0]!.daysLeft).toBeGreaterThanOrEqual(364);
    expect(rows[1]!.daysLeft).toBeGreaterThanOrEqual(729);

    const nd = await runCli(["cert", "list", "--output", "ndjson"], { EXO_CBA_HOME: home });
    expect(nd.stdout.trim().split("\n")).toHaveLength(2);
    const table = await runCli(["cert", "list"], { EXO_CBA_HOME: home });
    expect(table.stdout).toMatch(
      /^thumbprint\s+subject\s+friendlyName\s+notBefore\s+notAfter\s+daysLeft\s+hasKey\s+origin/,
    );
    expect(table.stdout).toContain(first);
  });

  it("shows nothing for an empty store", async () => {
    const empty = await tempDir();
    const r = await runCli(["cert", "list", "-o", "json"], { EXO_CBA_HOME: empty });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it("refuses to show an unknown thumbprint (exit 2)", async () => {
    const r = await runCli(["cert", "show", "12".repeat(20)], { EXO_CBA_HOME: home });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/No certificate with thumbprint/);
  });

  it("refuses a group-readable key file when the key is used (exit 2)", async () => {
    const keysDir = join(home, "certificates", "keys");
    const [keyFile] = await readdir(keysDir);
    await chmod(join(keysDir, keyFile!), 0o640);
    try {
      const results = await Promise.all(
        [first, second].map((t) =>
          runCli(["cert", "export", t, "--pem", join(home, `${t}.pem`)], { EXO_CBA_HOME: home }),
        ),
      );
      const refused = results.filter((r) => r.code === 2);
      expect(refused).toHaveLength(1);
      expect(refused[0]!.stderr).toMatch(/readable by other users/);
      expect(refused[0]!.stderr).toMatch(/hint: Run `chmod 600 /);
    } finally {
      await chmod(join(keysDir, keyFile!), 0o600);
    }
  });

  it("asks before removing: without a terminal and without --yes it refuses (exit 2) and keeps everything", async () => {
    await saveProfile(home, {
      name: "contoso",
      organization: "contoso.onmicrosoft.com",
      appId: "11111111-2222-3333-4444-555555555555",
      certificateThumbprint: first.toLowerCase(),
      environment: "O365Default",
    });
    const before = await snapshot(home);
    const r = await runCli(["cert", "remove", first], { EXO_CBA_HOME: home });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Confirmation needed/);
    expect(r.stderr).toMatch(/Profile contoso uses it/);
    expect(r.stderr).toMatch(/--yes/);
    expect(await snapshot(home)).toEqual(before);
  });

  it("removes with --yes (certificate and key)", async () => {
    const r = await runCli(["cert", "remove", first, "--yes", "-o", "json"], { EXO_CBA_HOME: home });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ thumbprint: first, removed: true });
    const list = JSON.parse(
      (await runCli(["cert", "list", "-o", "json"], { EXO_CBA_HOME: home })).stdout,
    ) as Array<{
      thumbprint: string;
    }>;
    expect(list.map((c) => c.thumbprint)).toEqual([second]);
    expect(await readdir(join(home, "certificates", "keys"))).toHaveLength(1);
  });
});
