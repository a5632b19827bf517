import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { readProfiles } from "../src/config/profiles.js";
import { capturedContext } from "./helpers/cli.js";

/** `exo-cba setup` / `teardown` as a user runs them: exit codes, stdout data, stderr progress. */
let emu: RunningEmulator;

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: 3 });
});
afterAll(async () => {
  await emu?.close();
});

function capture(env: NodeJS.ProcessEnv, interactive = false) {
  const c = capturedContext(env, { interactive });
  return { ctx: c.ctx, out: c.stdout, err: c.stderr };
}

async function envFor(extra: NodeJS.ProcessEnv = {}) {
  const home = await mkdtemp(join(tmpdir(), "exo-setup-cli-"));
  return { home, env: { ...emu.env, EXO_CBA_HOME: home, ...extra } as NodeJS.ProcessEnv };
}

describe("exo-cba setup (CLI)", () => {
  it("without --role and without a terminal: exit 2 naming --role, before any sign-in", async () => {
    const { env } = await envFor();
    const run = capture(env);
    expect(await main(["setup", "--organization", emu.tenant.domain, "--yes"], run.ctx)).toBe(2);
    expect(run.err()).toContain("--role");
    expect(emu.stats().tokenRequests).toBe(0);
  });

  it("without --yes and without a terminal: exit 2 naming --yes", async () => {
    const { env } = await envFor();
    const run = capture(env);
    expect(
      await main(["setup", "--organization", emu.tenant.domain, "--role", "global-reader"], run.ctx),
    ).toBe(2);
    expect(run.err()).toContain("--yes");
  });

  it("rejects an unknown role and a bad timeout with exit 2", async () => {
    const { env } = await envFor();
    const bad = capture(env);
    expect(
      await main(
        ["setup", "--organization", emu.tenant.domain, "--role", "exchange-admin", "--yes"],
        bad.ctx,
      ),
    ).toBe(2);
    const timeout = capture(env);
    expect(
      await main(
        [
          "setup",
          "--organization",
          emu.tenant.domain,
          "--role",
          "global-reader",
          "--timeout",
          "soon",
          "--yes",
        ],
        timeout.ctx,
      ),
    ).toBe(2);
    expect(timeout.err()).toContain("--timeout");
  });

  it("an organization that does not exist: exit 3 showing AADSTS90002", async () => {
    const { env } = await envFor({ EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken() });
    const run = capture(env);
    const code = await main(
      ["setup", "--organization", "no-such-tenant.onmicrosoft.com", "--role", "global-reader", "--yes"],
      run.ctx,
    );
    expect(code).toBe(3);
    expect(run.err()).toContain("AADSTS90002");
  });

  it("refuses an admin token issued for another tenant before touching Graph (exit 2)", async () => {
    const claims = {
      tid: "00000000-0000-0000-0000-00000000beef",
      aud: emu.graphEndpoint,
      scp: "Application.ReadWrite.All",
    };
    const foreign = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.x`;
    const { env } = await envFor({ EXO_ADMIN_ACCESS_TOKEN: foreign });
    const graphBefore = emu.stats().graphRequests;
    const run = capture(env);
    const code = await main(
      ["setup", "--organization", emu.tenant.domain, "--role", "global-reader", "--yes"],
      run.ctx,
    );
    expect(code).toBe(2);
    expect(run.err()).toContain("00000000-0000-0000-0000-00000000beef");
    expect(emu.stats().graphRequests).toBe(graphBefore);
  });

  it("--dry-run prints the plan and creates nothing", async () => {
    const { home, env } = await envFor({ EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken() });
    const run = capture(env);
    const code = await main(
      [
        "setup",
        "--organization",
        emu.tenant.domain,
        "--role",
        "global-reader",
        "--app-name",
        "dry",
        "--dry-run",
      ],
      run.ctx,
    );
    expect(code).toBe(0);
    expect(run.out()).toContain("+ application registration");
    expect(run.out()).toContain("create a new self-signed certificate");
    expect(run.out()).toContain("dry run");
    expect((await readProfiles(home)).profiles).toEqual({});
  });

  it("device-code sign-in, setup, JSON output, then teardown twice", async () => {
    const { home, env } = await envFor();
    const run = capture(env);
    const code = await main(
      [
        "setup",
        "--organization",
        emu.tenant.domain,
        "--role",
        "exchange-administrator",
        "--app-name",
        "cli",
        "--yes",
        "-o",
        "json",
      ],
      run.ctx,
    );
    expect(run.err()).toMatch(/code/i); // the device-code message was shown on stderr
    expect(code).toBe(0);
    const result = JSON.parse(run.out());
    expect(result.status).toBe("applied");
    expect(result.verification.ok).toBe(true);
    expect(result.role.templateId).toBe("29232cdf-9323-42fd-ade2-1d097af3e4de");
    expect(result.connect.environment.EXO_APP_ID).toBe(result.appId);
    expect(result.connect.powershellFilePath).toContain("-CertificateFilePath");
    expect(run.err()).toMatch(/ok +directory role assignment: created/);
    expect(Object.keys((await readProfiles(home)).profiles)).toEqual([emu.tenant.domain]);

    const table = capture({ ...env, EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken() });
    expect(
      await main(
        [
          "setup",
          "--organization",
          emu.tenant.domain,
          "--role",
          "exchange-administrator",
          "--app-name",
          "cli",
          "--yes",
        ],
        table.ctx,
      ),
    ).toBe(0);
    expect(table.err()).toContain("Everything is already in place");
    expect(table.out()).toContain(
      `Connect-ExchangeOnline -CertificateThumbprint ${result.certificate.thumbprint} -AppId ${result.appId}`,
    );

    const down = capture({ ...env, EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken() });
    expect(await main(["teardown", "--yes", "--remove-certificate", "-o", "json"], down.ctx)).toBe(0);
    const removed = JSON.parse(down.out());
    expect(removed.status).toBe("removed");
    expect(removed.plan.map((p: { what: string }) => p.what)).toContain("certificate");

    const again = capture({ ...env, EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken() });
    expect(
      await main(["teardown", "--organization", emu.tenant.domain, "--app-name", "cli", "--yes"], again.ctx),
    ).toBe(0);
    expect(again.out()).toContain("Nothing to tear down");
  });
});
