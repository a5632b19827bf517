import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { asExpectedError, ExitCode, ExoCbaError, exitCodeFor } from "../errors.js";
import { finishCommandLog, startCommandLog } from "../log/command-log.js";
import { redactText } from "../log/redact.js";
import { type CliContext, defaultContext } from "./context.js";
import { commandsFor, registerCommands } from "./registry.js";
import { terminalSafe } from "./render.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};
export const VERSION = pkg.version;

/**
 * Build the command tree: every command, or only those `commandsFor(argv)` says the command line needs.
 * Commands only declare options here; their work is loaded when they run.
 */
export async function buildProgram(ctx: CliContext, names?: readonly string[]): Promise<Command> {
  const program = new Command("exo-cba")
    .description(
      "Certificate-based, unattended Exchange Online automation: one-command setup, any cmdlet, usage reports, certificate rotation — against Microsoft 365 or the built-in emulator.",
    )
    .version(VERSION, "-V, --version", "print the version")
    .option("--debug", "show stack traces and diagnostic detail on errors")
    .option("-y, --yes", "answer yes to every confirmation (required when stdin is not a terminal)")
    .option(
      "--log-format <format>",
      "structured logs on stderr for unattended runs: json or text (secrets redacted)",
    )
    .option("--log-file <file>", "also append the logs to this file (created owner-only, 0600)")
    .showHelpAfterError("(add --help for usage)")
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    })
    .exitOverride();
  program.hook("preAction", (_this, action) => {
    const globals = action.optsWithGlobals() as {
      debug?: boolean;
      yes?: boolean;
      logFormat?: string;
      logFile?: string;
    };
    ctx.debug = Boolean(globals.debug);
    ctx.yes = Boolean(globals.yes);
    startCommandLog(ctx, action, globals);
  });
  program.addHelpText(
    "after",
    `
Examples:
  $ exo-cba demo                                   # everything, against an in-process emulator
  $ exo-cba cert new --dns-name contoso.onmicrosoft.com
  $ exo-cba setup --organization contoso.onmicrosoft.com --role global-reader
  $ exo-cba invoke Get-Mailbox -ResultSize Unlimited --output ndjson
  $ exo-cba report usage --format csv,html --out ./reports

Exit codes: 0 ok, 1 internal error, 2 bad usage or input, 3 authentication refused, 4 not authorized,
5 cmdlet or server error, 6 transient failures outlasted retries, 7 partial result, 8 a check found a problem.`,
  );
  await registerCommands(program, ctx, names);
  for (const cmd of program.commands) propagate(cmd, ctx);
  return program;
}

/** Subcommands inherit the output settings and the override so every level reports errors the same way. */
function propagate(cmd: Command, ctx: CliContext) {
  // Command lists show the summary: the description's first clause, so `--help` stays one line a command.
  if (!cmd.summary()) cmd.summary(summaryOf(cmd.description()));
  cmd.exitOverride().configureOutput({
    writeOut: (s) => ctx.stdout.write(s),
    writeErr: (s) => ctx.stderr.write(s),
  });
  cmd.showHelpAfterError("(add --help for usage)");
  for (const sub of cmd.commands) propagate(sub, ctx);
}

/** First clause of a description (up to " — " or a line break), at most 90 characters. */
export function summaryOf(description: string): string {
  const first = description.split(/\s+—\s+|\n/)[0]?.trim() ?? "";
  return first.length > 90 ? `${first.slice(0, 89).trimEnd()}…` : first;
}

/**
 * Print an error the way users should see it: message, hint, ids; the stack only with --debug. Server
 * text in it is shown with control characters escaped and secrets (an echoed client assertion, a token)
 * redacted — with --debug too (docs/operations.md §3).
 */
export function reportError(error: unknown, ctx: CliContext): void {
  const safe = (text: string) => terminalSafe(redactText(text));
  // Continuation lines are indented: a server message cannot forge an `error:` or `hint:` line.
  const line = (text: string) => safe(text).replace(/\n/g, "\n  ");
  if (error instanceof ExoCbaError) {
    ctx.stderr.write(`error: ${line(error.message)}\n`);
    if (error.hint) ctx.stderr.write(`hint: ${line(error.hint)}\n`);
    const ids = [
      error.httpStatus !== undefined && `HTTP ${error.httpStatus}`,
      error.requestId && `request id ${error.requestId}`,
    ].filter(Boolean);
    if (ids.length) ctx.stderr.write(`(${safe(ids.join(", "))})\n`);
    if (ctx.debug && error.stack) ctx.stderr.write(`${safe(error.stack)}\n`);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  ctx.stderr.write(`internal error: ${line(message)}\n`);
  if (ctx.debug && error instanceof Error && error.stack) ctx.stderr.write(`${safe(error.stack)}\n`);
  else ctx.stderr.write("(run again with --debug for the stack trace, and report it if it persists)\n");
}

/** Run the CLI and return the exit code; never calls process.exit itself. */
export async function main(argv: string[], ctx: CliContext = defaultContext()): Promise<number> {
  ctx.debug = argv.includes("--debug");
  ctx.runCli ??= main;
  const program = await buildProgram(ctx, commandsFor(argv));
  try {
    await program.parseAsync(argv, { from: "user" });
    finishCommandLog(ctx);
    return ExitCode.Ok;
  } catch (thrown) {
    // DNS, TLS, SQLite … failures become their typed error here, so exit 1 means a bug (src/errors.ts).
    const error = asExpectedError(thrown) ?? thrown;
    finishCommandLog(ctx, error);
    if (error instanceof CommanderError) {
      if (
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.code === "commander.help"
      )
        return ExitCode.Ok;
      // Commander has already printed its message.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    reportError(error, ctx);
    return exitCodeFor(error);
  }
}
