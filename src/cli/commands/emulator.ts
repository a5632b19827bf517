import type { Writable } from "node:stream";
import type { EmulatorOptions, RunningEmulator } from "@exo-cba/emulator";
import { UsageError } from "../../errors.js";
import type { CliContext } from "../context.js";
import { defineCommand, option } from "../define-command.js";
import { flag, fromText, negatable, number, optional, text } from "../option-schemas.js";

/**
 * `exo-cba emulator`: run the local Microsoft cloud (identity, Graph, Exchange Online; with --vb365 also
 * the Veeam Backup for Microsoft 365 REST API, docs/emulator-vb365.md) until
 * SIGINT/SIGTERM. The `export` lines on stdout point every other exo-cba command at it.
 */

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

const whole = (min: number, max: number) => optional(number({ min, max }));
const probability = () => optional(number({ integer: false, min: 0, max: 1 }));

export const command = defineCommand({
  name: "emulator",
  description:
    "run a local, stateful imitation of Microsoft identity, Graph and Exchange Online (HTTPS on loopback,\n" +
    "its own CA); prints the environment variables that point exo-cba at it",
  examples: [
    "exo-cba emulator --state ~/.exo-cba-emulator > emulator.env &   # then: . ./emulator.env",
    "exo-cba emulator --port 8443 --mailboxes 5000 --seed 42 --latency-ms 20",
    "exo-cba emulator --vb365 --mailboxes 20000 > emulator.env   # adds VB365_SERVER, VB365_USERNAME, VB365_PASSWORD",
    "exo-cba emulator --throttle-rate 20 --error-rate 0.05 --replication-delay-ms 30000 --exchange-role-delay-ms 300000 --no-auto-approve",
  ],
  options: {
    port: option(
      "--port <n>",
      "first port: identity on N, Graph on N+1, Exchange on N+2 (0 = any free ports)",
      whole(0, 65533),
    ),
    state: option(
      "--state <dir>",
      "keep tenants, apps, keys and the CA in this directory across restarts",
      text(),
    ),
    seed: option("--seed <n>", "seed of the generated mailbox data (default 1)", whole(0, 2 ** 31 - 1)),
    mailboxes: option("--mailboxes <n>", "mailboxes in the tenant (default 50)", whole(0, 10_000_000)),
    latencyMs: option("--latency-ms <n>", "added latency per request, every service", whole(0, 600_000)),
    throttleRate: option(
      "--throttle-rate <n>",
      "Exchange requests per second per tenant before 429 + Retry-After",
      whole(1, 1_000_000),
    ),
    throttleConcurrency: option(
      "--throttle-concurrency <n>",
      "concurrent Exchange requests per tenant before 429",
      whole(1, 100_000),
    ),
    graphThrottleRate: option(
      "--graph-throttle-rate <n>",
      "Graph requests per second per tenant before 429 + Retry-After (whole seconds)",
      whole(1, 1_000_000),
    ),
    errorRate: option("--error-rate <x>", "probability of a 503/504 per Exchange request", probability()),
    dropRate: option(
      "--drop-rate <x>",
      "probability of a dropped connection per Exchange request",
      probability(),
    ),
    tokenLifetime: option(
      "--token-lifetime <s>",
      "lifetime of issued access tokens in seconds (default 3599)",
      whole(60, 86_400),
    ),
    replicationDelayMs: option(
      "--replication-delay-ms <n>",
      "directory replication: how long new apps, service principals, grants and keys take to become visible (default 0)",
      whole(0, 86_400_000),
    ),
    exchangeRoleDelayMs: option(
      "--exchange-role-delay-ms <n>",
      "Exchange role propagation: tokens minted sooner than this after a grant stay refused (403) for their lifetime (default 0)",
      whole(0, 86_400_000),
    ),
    autoApprove: option(
      "--no-auto-approve",
      "device-code sign-in waits for approval on the emulator's page instead of signing in the admin",
      negatable(),
    ),
    vb365: option(
      "--vb365",
      "also run the Veeam Backup for Microsoft 365 REST API (port N+3, its own self-signed certificate)",
      flag(),
    ),
    vb365Version: option(
      "--vb365-version <n>",
      "VB365 REST generation: 8 (default) or 7 (implies --vb365)",
      optional(
        fromText((t): 7 | 8 | { error: string } =>
          t.trim() === "7" ? 7 : t.trim() === "8" ? 8 : { error: "must be 7 or 8." },
        ),
      ),
    ),
    vb365TokenLifetime: option(
      "--vb365-token-lifetime <s>",
      "lifetime of VB365 access tokens in seconds (default 3600; implies --vb365)",
      whole(1, 86_400),
    ),
  },
  needs: "none",
  run: (ctx, opts) => runEmulator(opts, ctx),
  // The emulator prints its environment lines as it starts; nothing is left to render.
  render: () => {},
});

/**
 * Start, announce, wait for `stop` (SIGINT/SIGTERM by default), close. Returns once the listeners are
 * closed and the state is flushed to disk.
 */
export async function runEmulator(
  opts: EmulatorCommandOptions,
  ctx: Pick<CliContext, "stdout" | "stderr">,
  stop: (emu: RunningEmulator) => Promise<string> = untilSignal,
): Promise<{ stopped: string }> {
  const { startEmulator, EmulatorUsageError } = await import("@exo-cba/emulator");
  const emu = await startEmulator(emulatorOptionsFrom(opts)).catch((error: unknown) => {
    // a port in use, an unreadable --state file: the user's to fix (exit 2)
    throw error instanceof EmulatorUsageError
      ? new UsageError(error.message, { hint: error.hint, cause: error })
      : error;
  });
  let reason: string;
  try {
    announce(emu, ctx.stdout, ctx.stderr);
    reason = await stop(emu);
    ctx.stderr.write(`${reason}: stopping the emulator...\n`);
  } finally {
    await emu.close();
  }
  ctx.stderr.write("emulator stopped.\n");
  return { stopped: reason };
}
