import type { EventEmitter } from "node:events";
import type { Command } from "commander";
import { PartialResultError, ServerError } from "../../errors.js";
import {
  connectionFrom,
  connectionOptions,
  networkFrom,
  networkOptions,
  outputOption,
} from "../common-options.js";
import { note } from "../context.js";
import { argument, defineCommand, option } from "../define-command.js";
import { flag, requiredText, text, words } from "../option-schemas.js";

/**
 * The cmdlet's own arguments, taken from the raw command line: commander reads `-Verbose` as the global
 * `-V` plus `-erbose`, so its view of the tail cannot be trusted. exo-cba's own options in the tail
 * (parsed by commander) are skipped with their values; after `--` everything belongs to the cmdlet.
 */
export function cmdletTokens(rawArgs: readonly string[], cmd: Command, cmdlet: string): string[] {
  const start = rawArgs.indexOf(cmd.name());
  const cmdletAt = rawArgs.indexOf(cmdlet, start + 1);
  const tail = rawArgs.slice(cmdletAt + 1);
  const before = rawArgs.slice(start + 1, cmdletAt);
  // `invoke -- Get-Mailbox -Verbose`: the separator came before the cmdlet name.
  if (before.includes("--")) return tail;
  const options = [...cmd.options, ...(cmd.parent?.options ?? [])];
  const takesValue = (flag: string) => {
    const option = options.find((o) => o.long === flag || (o.short === flag && cmd.options.includes(o)));
    return option
      ? { known: true, value: option.required || option.optional }
      : { known: false, value: false };
  };
  const out: string[] = [];
  for (let i = 0; i < tail.length; i++) {
    const token = tail[i]!;
    if (token === "--") {
      out.push(...tail.slice(i + 1));
      break;
    }
    const isLong = token.startsWith("--");
    const isOwnShort = /^-[a-z]$/.test(token) && cmd.options.some((o) => o.short === token);
    if (isLong || isOwnShort) {
      const [flag] = token.split("=", 1) as [string];
      const option = takesValue(flag);
      if (option.known) {
        if (option.value && !token.includes("=")) i++;
        continue;
      }
    }
    out.push(token);
  }
  return out;
}

/** Unattended runs are where an expiring certificate goes unnoticed: say so on stderr a month ahead. */
export function certificateExpiryWarning(
  notAfter: Date | undefined,
  thumbprint: string | undefined,
  now = Date.now(),
): string | undefined {
  if (!notAfter) return undefined;
  const days = Math.floor((notAfter.getTime() - now) / 86_400_000);
  if (days >= 30) return undefined;
  return `WARNING: the certificate ${thumbprint ?? ""} ${
    days < 0 ? "has expired" : `expires in ${days} day(s)`
  } (${notAfter.toISOString()}); rotate it with \`exo-cba cert rotate\`.`;
}

/** True when this command line runs `invoke` (then `-V…` is a cmdlet parameter such as -Verbose). */
function isInvokeCommandLine(rawArgs: readonly string[]): boolean {
  const first = rawArgs.find((a) => !a.startsWith("-"));
  return first === "invoke";
}

/**
 * The global `-V` (version) would fire on `-Verbose`, `-VirtualDirectory`… after an invoke: keep version
 * for every other command line and ignore it on invoke's.
 * (Command is an EventEmitter at run time; its typings do not say so, nor expose rawArgs.)
 */
function keepVersionOffInvoke(program: Command): void {
  const emitter = program as unknown as EventEmitter & { rawArgs: string[] };
  const versionListeners = emitter.listeners("option:version") as Array<(...args: unknown[]) => void>;
  if (versionListeners.length === 0) return;
  emitter.removeAllListeners("option:version");
  emitter.on("option:version", (...args: unknown[]) => {
    if (isInvokeCommandLine(emitter.rawArgs)) return;
    for (const listener of versionListeners) listener.apply(program, args);
  });
}

const rawArgsOf = (cmd: Command) => (cmd.parent as unknown as { rawArgs: string[] } | null)?.rawArgs ?? [];

/** `exo-cba invoke CMDLET [-Name value ...] [--parameters-json J] [--raw]` — run any cmdlet, stream all pages. */
export const command = defineCommand({
  name: "invoke",
  description:
    "run any Exchange Online cmdlet app-only and stream every page of its result " +
    "(parameters PowerShell-style after the cmdlet name: -Name value, -Switch, -Switch:$false, -List a,b)",
  examples: [
    "exo-cba invoke Get-Mailbox -ResultSize Unlimited --output ndjson",
    "exo-cba invoke Get-Mailbox -Identity adele@contoso.com -Archive --output json",
    "exo-cba invoke Get-EXOMailbox -RecipientTypeDetails UserMailbox,SharedMailbox -ResultSize 500 -o csv   # sent as Get-Mailbox",
    `exo-cba invoke Set-Mailbox -Identity adele@contoso.com --parameters-json '{"EmailAddresses":{"Add":["smtp:a@contoso.com"]}}'`,
    "exo-cba invoke Get-Mailbox -- -Identity adele --output x   # after --, everything goes to the cmdlet",
  ],
  arguments: {
    cmdlet: argument("<cmdlet>", "cmdlet name, Verb-Noun (e.g. Get-Mailbox)", requiredText()),
    // Read from the raw command line instead (cmdletTokens): commander's view of the tail is unreliable.
    parameters: argument("[parameters...]", "cmdlet parameters, PowerShell-style", words()),
  },
  options: {
    parametersJson: option(
      "--parameters-json <json>",
      "parameters as a JSON object (hashtables, nested values)",
      text(),
    ),
    raw: option(
      "--raw",
      "keep the wire form (@odata.type annotations, size strings without byte columns)",
      flag(),
    ),
    ...connectionOptions,
    ...networkOptions("960 s"),
    ...outputOption("table"),
  },
  needs: "exchange",
  configure(cmd) {
    cmd.allowUnknownOption().allowExcessArguments();
    if (cmd.parent) keepVersionOffInvoke(cmd.parent);
  },
  async run(ctx, opts) {
    const { parseCmdletArguments, mergeParametersJson } = await import("../../exchange/powershell-args.js");
    const { validateCmdletName } = await import("../../exchange/client.js");

    // Everything is checked before the first request: cmdlet name, parameters, connection options.
    const cmdlet = opts.cmdlet;
    validateCmdletName(cmdlet);
    const tokens = cmdletTokens(rawArgsOf(ctx.command), ctx.command, cmdlet);
    const params = mergeParametersJson(parseCmdletArguments(tokens), opts.parametersJson);
    const network = networkFrom(opts, ctx.env);
    const session = await ctx.session();
    const resolved = await session.resolve(connectionFrom(opts));

    // `cmdlet.end` records only when --log-format/--log-file asked for logs (the client stays logger-free).
    const { cmdletLogger } = await import("../../log/cmdlet-log.js");
    const onCallEnd = cmdletLogger(ctx.logger);
    const connection = await session.exchange(resolved, {
      ...(onCallEnd ? { onCallEnd } : {}),
      ...(network.timeoutMs === undefined ? {} : { timeoutMs: network.timeoutMs }),
      ...(network.maxAttempts === undefined ? {} : { retry: { maxAttempts: network.maxAttempts } }),
    });
    const expiry = certificateExpiryWarning(
      connection.certificate?.notAfter,
      connection.certificate?.thumbprint,
    );
    if (expiry) note(ctx, expiry);
    const cmdletErrors: string[] = [];
    const rows = connection.stream(cmdlet, params, {
      raw: opts.raw,
      onWarning: (w) => note(ctx, `WARNING: ${w}`),
      onError: (e) => {
        cmdletErrors.push(e);
        note(ctx, `ERROR: ${e}`);
      },
    });
    // The rows stream while they are rendered; the session closes the sockets after that.
    return { cmdlet, connection, rows, cmdletErrors };
  },
  async render({ cmdlet, connection, rows, cmdletErrors }, opts, ctx) {
    const { renderRows } = await import("../render.js");
    try {
      const count = await renderRows(rows, opts.output, ctx.stdout);
      if (cmdletErrors.length > 0) {
        const message = `${cmdlet} reported ${cmdletErrors.length} error(s) (shown above)`;
        if (count > 0) throw new PartialResultError(`${message}; ${count} row(s) were returned.`);
        throw new ServerError(`${message}.`, { cmdlet });
      }
      if (ctx.debug) {
        const s = connection.stats;
        note(
          ctx,
          `${count} row(s); ${s.requests} request(s), ${s.retries} retr(ies), ${s.tokenRequests} token request(s)`,
        );
      }
    } finally {
      await connection.disconnect();
    }
  },
});
