import { describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { runDemo } from "../src/demo/run.js";
import { capturedContext } from "./helpers/cli.js";

/**
 * `npm start` is the first thing a new user runs: the whole flow must pass end to end against the
 * in-process emulator, and the report it produces must equal the numbers the emulator generated.
 */
describe("exo-cba demo", () => {
  it("runs every step with the expected exit code and a report equal to the emulator's truth", async () => {
    const c = capturedContext({ PATH: process.env.PATH ?? "" });
    const ctx = { ...c.ctx, runCli: main };
    // Non-zero propagation: setup's check must fetch fresh tokens, rotation must wait out its new key.
    const result = await runDemo(ctx, { mailboxes: 60, replicationDelayMs: 200, exchangeRoleDelayMs: 1000 });

    // The emulated VB365 service (docs/emulator-vb365.md) backs up the tenant: a second report step shows
    // the seven backup columns.
    expect(result.backupShown).toBe(true);
    expect(result.steps.map((s) => [s.command.split(" ").slice(1, 3).join(" "), s.exitCode])).toEqual([
      ["cert new", 0],
      ["setup --organization", 0],
      ["test", 0],
      ["invoke Get-EXOMailbox", 0],
      ["invoke Set-Mailbox", 4],
      ["report usage", 0],
      ["report usage", 0],
      ["doctor", 0],
      ["cert rotate", 0],
      ["test", 0],
      ["cert check", 0],
      ["teardown --yes", 0],
    ]);
    expect(result.reportMatchesTruth).toBe(true);
    expect(result.ok).toBe(true);
    // What a user sees: the commands echoed, the paste-ready Connect-ExchangeOnline line, no secrets.
    const stdout = c.stdout();
    const stderr = c.stderr();
    expect(stderr).toContain("$ exo-cba setup --organization contoso.onmicrosoft.com");
    expect(stdout).toMatch(/Connect-ExchangeOnline -CertificateThumbprint [0-9A-F]{40} -AppId [0-9a-f-]{36}/);
    expect(stdout + stderr).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/); // no JWT printed anywhere
    expect(stdout + stderr).not.toContain("PRIVATE KEY");
    // The backup side from the emulated VB365: the coverage line and the original seven columns.
    expect(stdout).toMatch(
      /contoso\.onmicrosoft\.com: backup https:\/\/127\.0\.0\.1:\d+: \d+ of \d+ mailboxes protected/,
    );
    expect(stdout).toContain("Backed up Mailboxes on Repo");
    expect(stdout + stderr).not.toContain("emulator-vb365"); // the VB365 password
  });
});
