import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, type Writable } from "node:stream";
import { EmulatorUsageError, startEmulator, type UsageTruth } from "@exo-cba/emulator";
import { UsageError } from "../errors.js";

/**
 * `exo-cba demo`: the whole product, end to end, against an in-process emulator. Every step is a real
 * exo-cba command run in-process with the same parser and code as from a shell, so the demo shows exactly
 * what a user would type and see, and fails exactly where the product would.
 */
export interface DemoOptions {
  mailboxes?: number;
  /** keep the state home (certificates, profiles, history, report files) in this folder instead of a temp one */
  home?: string;
  /** replication delay of the emulated directory, to show setup waiting it out (ms) */
  replicationDelayMs?: number;
  /** Exchange role propagation of the emulator, to show setup's verification fetching fresh tokens (ms) */
  exchangeRoleDelayMs?: number;
}

export interface DemoStep {
  command: string;
  exitCode: number;
  /** the exit code this step must end with (the refused write expects 4) */
  expectedExitCode: number;
  ms: number;
}

export interface DemoResult {
  steps: DemoStep[];
  home: string;
  reportDir: string;
  reportMatchesTruth: boolean;
  /** the report included the backup side from the emulated VB365 */
  backupShown: boolean;
  ok: boolean;
}

/** What one in-process command line gets: the same fields a CLI context has, without its extras. */
export interface DemoCommandContext {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  interactive: boolean;
  debug: boolean;
  yes: boolean;
}

/**
 * What the demo needs from its caller. `runCli` is the CLI's own entry (`main` of src/cli/main.ts, which
 * sets it on the context it runs commands with): passed in, so this module does not import the CLI that
 * imports it.
 */
export interface DemoContext {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  debug: boolean;
  runCli?: (argv: string[], ctx: DemoCommandContext) => Promise<number>;
}

export async function runDemo(ctx: DemoContext, options: DemoOptions = {}): Promise<DemoResult> {
  const main = ctx.runCli;
  if (!main) throw new Error("runDemo needs ctx.runCli, the CLI entry that runs each step");
  const home = options.home ?? (await mkdtemp(join(tmpdir(), "exo-cba-demo-")));
  const reportDir = join(home, "reports");
  const say = (line = "") => ctx.stderr.write(`${line}\n`);

  say("Starting the local Microsoft cloud (identity, Graph, Exchange Online) in this process ...");
  // The backup side of the report: the emulated Veeam Backup for Microsoft 365 REST service, when this
  // emulator has it (docs/emulator-vb365.md).
  const emulatorOptions: Record<string, unknown> = {
    mailboxes: options.mailboxes ?? 250,
    stateDir: join(home, "emulator"),
    replicationDelayMs: options.replicationDelayMs ?? 1500,
    exchangeRoleDelayMs: options.exchangeRoleDelayMs ?? 2000,
    vb365: {},
  };
  const emu = await startEmulator(emulatorOptions as Parameters<typeof startEmulator>[0]).catch(
    (error: unknown) => {
      // e.g. an unreadable emulator state file under --home: the user's to fix (exit 2)
      throw error instanceof EmulatorUsageError
        ? new UsageError(error.message, { hint: error.hint, cause: error })
        : error;
    },
  );
  say(`  identity ${emu.authorityHost}  graph ${emu.graphEndpoint}  exchange ${emu.exchangeEndpoint}`);
  say(`  tenant ${emu.tenant.domain} (${emu.tenant.id}), ${options.mailboxes ?? 250} generated mailboxes`);
  say(`  state home ${home}`);

  const env: NodeJS.ProcessEnv = { ...ctx.env, ...emu.env, EXO_CBA_HOME: home };
  delete env.EXO_ADMIN_ACCESS_TOKEN; // the demo signs the admin in with the device code flow, like a user would
  for (const k of ["EXO_APP_ID", "EXO_CERTIFICATE_THUMBPRINT", "EXO_CERTIFICATE_FILE_PATH", "EXO_PROFILE"])
    delete env[k];

  const steps: DemoStep[] = [];
  const run = async (
    argv: string[],
    why: string,
    expectedExitCode = 0,
  ): Promise<{ code: number; stdout: string }> => {
    say("");
    say(`# ${why}`);
    say(`$ exo-cba ${argv.map(shellWord).join(" ")}`);
    const captured = tee(ctx.stdout);
    const started = Date.now();
    const code = await main(argv, {
      stdout: captured.stream,
      stderr: ctx.stderr,
      env,
      interactive: false,
      debug: ctx.debug,
      yes: false,
    });
    steps.push({
      command: `exo-cba ${argv.join(" ")}`,
      exitCode: code,
      expectedExitCode,
      ms: Date.now() - started,
    });
    if (code !== 0) say(`(exit code ${code}${code === expectedExitCode ? ", as expected" : ""})`);
    return { code, stdout: captured.text() };
  };

  let reportMatchesTruth = false;
  let backupShown = false;
  try {
    const org = emu.tenant.domain;
    const created = await run(
      [
        "cert",
        "new",
        "--dns-name",
        `exo-cba-demo.${org}`,
        "--cer-path",
        join(home, "exo-cba-demo.cer"),
        "--output",
        "json",
      ],
      "1. A self-signed certificate, like New-SelfSignedCertificate + Export-Certificate (key stays in the local store)",
    );
    const thumbprint =
      created.code === 0 ? (JSON.parse(created.stdout) as { thumbprint: string }).thumbprint : undefined;
    if (!thumbprint) throw new DemoStop("cert new failed");

    const setup = await run(
      [
        "setup",
        "--organization",
        org,
        "--role",
        "global-reader",
        "--certificate-thumbprint",
        thumbprint,
        "--yes",
      ],
      "2. One-command setup: app, Exchange.ManageAsApp, admin consent, certificate, Global Reader role, live check",
    );
    if (setup.code !== 0) throw new DemoStop("setup failed");

    await run(["test"], "3. Connect with the saved profile and run Get-OrganizationConfig");
    await run(
      ["invoke", "Get-EXOMailbox", "-ResultSize", "3", "--output", "table"],
      "4. Any cmdlet, unattended: the first three mailboxes",
    );
    await run(
      ["invoke", "Set-Mailbox", "-Identity", "user000001", "-CustomAttribute1", "demo"],
      "5. A write with a read-only role is refused (exit 4), as in Exchange Online",
      4,
    );

    // The VB365 server's self-signed certificate is trusted by its pinned fingerprint, as a user would.
    const vb = (
      emu as unknown as {
        vb365?: { origin: string; username: string; password: string; fingerprintSha256: string };
      }
    ).vb365;
    if (vb) env.VB365_PASSWORD = vb.password;
    const vbFlags = vb
      ? [
          "--vb365-server",
          vb.origin,
          "--vb365-username",
          vb.username,
          "--vb365-certificate-fingerprint",
          vb.fingerprintSha256,
        ]
      : [];
    const report = await run(
      ["report", "usage", "--format", "csv,json,html", "--out", reportDir, ...vbFlags],
      "6. The mailbox usage report for backup sizing (CSV, JSON, self-contained HTML), with the backup side from Veeam Backup for Microsoft 365: protected, unprotected, stale and orphaned mailboxes, repository usage, data reduction",
    );
    if (report.code === 0) {
      const file = join(reportDir, `usage-${org}.json`);
      reportMatchesTruth = compareWithTruth(await readFile(file, "utf8"), emu.expectedUsage(), say);
    }
    if (vb) {
      backupShown = report.code === 0;
      await run(
        ["report", "usage", ...vbFlags, "--output", "vb365-columns"],
        "6b. The original VB365 script's seven columns, for comparison with what it printed",
      );
    }

    await run(["doctor"], "7. Check every link of the chain");
    await run(
      ["cert", "rotate", "--self"],
      "8. Zero-downtime self-rotation: the app adds its new key with a proof signed by the current one (no admin needed), verifies it, switches the profile, removes the old key",
    );
    await run(["test"], "9. Still working with the new certificate");
    await run(["cert", "check"], "10. Expiry check for cron/monitoring (exit 8 when a certificate is due)");
    await run(["teardown", "--yes"], "11. Remove everything setup created");
  } catch (error) {
    if (!(error instanceof DemoStop)) throw error;
    say(`The demo stopped: ${error.message}.`);
  } finally {
    await emu.close();
  }

  const ok = steps.every((s) => s.exitCode === s.expectedExitCode) && reportMatchesTruth;
  say("");
  say(
    `Demo ${ok ? "finished" : "FAILED"}: ${steps.length} commands in ${(steps.reduce((a, s) => a + s.ms, 0) / 1000).toFixed(1)} s.`,
  );
  say(`Report files: ${reportDir}`);
  if (!options.home) {
    say("(the state home was a temporary folder; pass --home DIR to keep it)");
    await rm(home, { recursive: true, force: true }).catch(() => undefined);
  }
  return { steps, home, reportDir, reportMatchesTruth, backupShown, ok };
}

class DemoStop extends Error {}

/** The report's totals against the numbers the emulator generated: the demo proves itself. */
function compareWithTruth(json: string, truth: UsageTruth, say: (line: string) => void): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    say("The report file is not JSON; cannot compare it with the emulator's truth.");
    return false;
  }
  const found = findTotals(parsed);
  if (!found) {
    say("No totals found in the report summary.");
    return false;
  }
  const checks: Array<[string, number | undefined, number]> = [
    ["mailboxes", found.mailboxesMeasured, truth.mailboxes],
    ["primary bytes", found.primaryBytes, truth.primaryBytes],
    ["primary items", found.primaryItems, truth.primaryItems],
    ["deleted-items bytes", found.deletedBytes, truth.deletedBytes],
    ["archive bytes", found.archiveBytes, truth.archiveBytes],
    ["archive deleted-items bytes", found.archiveDeletedBytes, truth.archiveDeletedBytes],
    ["total protected bytes", found.totalProtectedBytes, truth.totalProtectedBytes],
  ];
  const bad = checks.filter(([, got, want]) => got !== want);
  if (bad.length === 0)
    say(`Report totals equal the emulator's generated truth (${checks.length} figures checked).`);
  for (const [name, got, want] of bad) say(`MISMATCH ${name}: report ${got}, emulator ${want}`);
  return bad.length === 0;
}

interface FoundTotals {
  mailboxesMeasured?: number;
  primaryBytes?: number;
  primaryItems?: number;
  deletedBytes?: number;
  archiveBytes?: number;
  archiveDeletedBytes?: number;
  totalProtectedBytes?: number;
}

/** Find the first object carrying `totalProtectedBytes` in the summary (its exact nesting is the report's business). */
function findTotals(value: unknown): FoundTotals | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.totalProtectedBytes === "number") return v as FoundTotals;
  for (const child of Object.values(v)) {
    const hit = findTotals(child);
    if (hit) return hit;
  }
  return undefined;
}

function tee(out: Writable): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => {
    chunks.push(c);
    out.write(c);
  });
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}

const shellWord = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`);
