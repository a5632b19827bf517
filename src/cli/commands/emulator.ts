import type { Writable } from "node:stream";
import type { EmulatorOptions, RunningEmulator } from "@exo-cba/emulator";
import { type Command, InvalidArgumentError } from "commander";
import { UsageError } from "../../errors.js";
import type { CliContext } from "../context.js";
import { withExamples } from "../options.js";

/**
 * `exo-cba emulator`: run the local Microsoft cloud (identity, Graph, Exchange Online; with --vb365 also
 * the Veeam Backup for Microsoft 365 REST API, docs/emulator-vb365.md) until
 * SIGINT/SIGTERM. The `export` lines on stdout point every other exo-cba command at it.
 */

const integer = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
  }
  return n;
};

const probability = (value: string) => {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError("expected a probability from 0 to 1, e.g. 0.05.");
  }
  return n;
};

export interface EmulatorCommandOptions {
  port?: number;
  state?: string;
  seed?: number;
  mailboxes?: number;
  latencyMs?: number;
  throttleRate?: number;
  throttleConcurrency?: number;
  graphThrottleRate?: number;
  errorRate?: number;
  dropRate?: number;
  tokenLifetime?: number;
  replicationDelayMs?: number;
  exchangeRoleDelayMs?: number;
  autoApprove?: boolean;
  vb365?: boolean;
  vb365Version?: 7 | 8;
  vb365TokenLifetime?: number;
}

const vb365Version = (value: string): 7 | 8 => {
  if (value.trim() === "7") return 7;
  if (value.trim() === "8") return 8;
  throw new InvalidArgumentError("expected 7 or 8.");
};

/** Map parsed flags to the emulator's options (only what was given, so the emulator's defaults apply). */
export function emulatorOptionsFrom(o: EmulatorCommandOptions): EmulatorOptions {
  const out: EmulatorOptions = {};
  if (o.port !== undefined) out.port = o.port;
  if (o.state !== undefined) out.stateDir = o.state;
  if (o.seed !== undefined) out.seed = o.seed;
  if (o.mailboxes !== undefined) out.mailboxes = o.mailboxes;
  if (o.latencyMs !== undefined) out.latencyMs = o.latencyMs;
  if (o.throttleRate !== undefined || o.throttleConcurrency !== undefined) {
    out.throttle = {
      ...(o.throttleRate !== undefined ? { ratePerSecond: o.throttleRate } : {}),
      ...(o.throttleConcurrency !== undefined ? { concurrency: o.throttleConcurrency } : {}),
    };
  }
  if (o.graphThrottleRate !== undefined) out.graphThrottle = { ratePerSecond: o.graphThrottleRate };
  if (o.errorRate !== undefined || o.dropRate !== undefined) {
    out.faults = {
      ...(o.errorRate !== undefined ? { errorRate: o.errorRate } : {}),
      ...(o.dropRate !== undefined ? { dropRate: o.dropRate } : {}),
    };
  }
  if (o.tokenLifetime !== undefined) out.tokenLifetimeSeconds = o.tokenLifetime;
  if (o.replicationDelayMs !== undefined) out.replicationDelayMs = o.replicationDelayMs;
  if (o.exchangeRoleDelayMs !== undefined) out.exchangeRoleDelayMs = o.exchangeRoleDelayMs;
  if (o.autoApprove === false) out.deviceCodeAutoApprove = false;
  if (o.vb365 || o.vb365Version !== undefined || o.vb365TokenLifetime !== undefined) {
    out.vb365 = {
      ...(o.vb365Version !== undefined ? { version: o.vb365Version } : {}),
      ...(o.vb365TokenLifetime !== undefined ? { tokenLifetimeSeconds: o.vb365TokenLifetime } : {}),
    };
  }
  return out;
}

/** `export NAME=value`, single-quoted for POSIX shells when the value needs it. */
export function exportLine(name: string, value: string): string {
  const safe = /^[A-Za-z0-9_./:@%+=,-]+$/.test(value);
  return `export ${name}=${safe ? value : `'${value.replace(/'/g, `'\\''`)}'`}`;
}

/** Print how to use a running emulator: shell lines on stdout, a human note on stderr. */
export function announce(emu: RunningEmulator, stdout: Writable, stderr: Writable): void {
  for (const [name, value] of Object.entries(emu.env)) stdout.write(`${exportLine(name, value)}\n`);
  const users = emu.users.map((u) => u.userPrincipalName).join(", ");
  stderr.write(
    [
      `exo-cba emulator running for ${emu.tenant.domain} (tenant ${emu.tenant.id})`,
      `  identity ${emu.authorityHost}   graph ${emu.graphEndpoint}   exchange ${emu.exchangeEndpoint}`,
      `  CA certificate: ${emu.caFile}`,
      `  seeded users: ${users}`,
      ...vb365Note(emu),
      "  Load the lines above into your shell (eval, or save and source them), then run exo-cba setup/invoke/report.",
      "  Stop with Ctrl+C.",
      "",
    ].join("\n"),
  );
}

/** What the human needs to know about the VB365 service: its self-signed certificate and how to trust it. */
function vb365Note(emu: RunningEmulator): string[] {
  const vb = emu.vb365;
  if (!vb) return [];
  return [
    `  vb365 ${vb.origin} (Veeam Backup for Microsoft 365 REST API v${vb.version}, user ${vb.username})`,
    `  VB365 certificate (self-signed, NOT from the emulator CA): ${vb.certificateFile}`,
    `    SHA-256 fingerprint ${vb.fingerprintSha256}`,
    `    trust it with --vb365-ca-file ${vb.certificateFile}, or pin it with --vb365-certificate-fingerprint ${vb.fingerprintSha256}`,
    ...(vb.defaultPassword
      ? []
      : ["  VB365 password: not printed (not the emulator default); set VB365_PASSWORD yourself."]),
  ];
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(signal);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("emulator")
    .description(
      "run a local, stateful imitation of Microsoft identity, Graph and Exchange Online (HTTPS on loopback,\n" +
        "its own CA); prints the environment variables that point exo-cba at it",
    )
    .option(
      "--port <n>",
      "first port: identity on N, Graph on N+1, Exchange on N+2 (0 = any free ports)",
      integer(0, 65533),
    )
    .option("--state <dir>", "keep tenants, apps, keys and the CA in this directory across restarts")
    .option("--seed <n>", "seed of the generated mailbox data (default 1)", integer(0, 2 ** 31 - 1))
    .option("--mailboxes <n>", "mailboxes in the tenant (default 50)", integer(0, 10_000_000))
    .option("--latency-ms <n>", "added latency per request, every service", integer(0, 600_000))
    .option(
      "--throttle-rate <n>",
      "Exchange requests per second per tenant before 429 + Retry-After",
      integer(1, 1_000_000),
    )
    .option(
      "--throttle-concurrency <n>",
      "concurrent Exchange requests per tenant before 429",
      integer(1, 100_000),
    )
    .option(
      "--graph-throttle-rate <n>",
      "Graph requests per second per tenant before 429 + Retry-After (whole seconds)",
      integer(1, 1_000_000),
    )
    .option("--error-rate <x>", "probability of a 503/504 per Exchange request", probability)
    .option("--drop-rate <x>", "probability of a dropped connection per Exchange request", probability)
    .option(
      "--token-lifetime <s>",
      "lifetime of issued access tokens in seconds (default 3599)",
      integer(60, 86_400),
    )
    .option(
      "--replication-delay-ms <n>",
      "directory replication: how long new apps, service principals, grants and keys take to become visible (default 0)",
      integer(0, 86_400_000),
    )
    .option(
      "--exchange-role-delay-ms <n>",
      "Exchange role propagation: tokens minted sooner than this after a grant stay refused (403) for their lifetime (default 0)",
      integer(0, 86_400_000),
    )
    .option(
      "--no-auto-approve",
      "device-code sign-in waits for approval on the emulator's page instead of signing in the admin",
    )
    .option(
      "--vb365",
      "also run the Veeam Backup for Microsoft 365 REST API (port N+3, its own self-signed certificate)",
    )
    .option("--vb365-version <n>", "VB365 REST generation: 8 (default) or 7 (implies --vb365)", vb365Version)
    .option(
      "--vb365-token-lifetime <s>",
      "lifetime of VB365 access tokens in seconds (default 3600; implies --vb365)",
      integer(1, 86_400),
    );
  withExamples(cmd, [
    "exo-cba emulator --state ~/.exo-cba-emulator > emulator.env &   # then: . ./emulator.env",
    "exo-cba emulator --port 8443 --mailboxes 5000 --seed 42 --latency-ms 20",
    "exo-cba emulator --vb365 --mailboxes 20000 > emulator.env   # adds VB365_SERVER, VB365_USERNAME, VB365_PASSWORD",
    "exo-cba emulator --throttle-rate 20 --error-rate 0.05 --replication-delay-ms 30000 --exchange-role-delay-ms 300000 --no-auto-approve",
  ]);
  cmd.action((opts: EmulatorCommandOptions) => runEmulator(opts, ctx));
}

/**
 * Start, announce, wait for `stop` (SIGINT/SIGTERM by default), close. Returns once the listeners are
 * closed and the state is flushed to disk.
 */
export async function runEmulator(
  opts: EmulatorCommandOptions,
  ctx: Pick<CliContext, "stdout" | "stderr">,
  stop: (emu: RunningEmulator) => Promise<string> = untilSignal,
): Promise<void> {
  const { startEmulator, EmulatorUsageError } = await import("@exo-cba/emulator");
  const emu = await startEmulator(emulatorOptionsFrom(opts)).catch((error: unknown) => {
    // a port in use, an unreadable --state file: the user's to fix (exit 2)
    throw error instanceof EmulatorUsageError
      ? new UsageError(error.message, { hint: error.hint, cause: error })
      : error;
  });
  try {
    announce(emu, ctx.stdout, ctx.stderr);
    const reason = await stop(emu);
    ctx.stderr.write(`${reason}: stopping the emulator...\n`);
  } finally {
    await emu.close();
  }
  ctx.stderr.write("emulator stopped.\n");
}
