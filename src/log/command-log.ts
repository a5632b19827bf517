import type { Writable } from "node:stream";
import type { Command } from "commander";
import { exitCodeFor } from "../errors.js";
import { createLogger, type Logger, parseLogFormat } from "./log.js";

/**
 * The CLI edge of structured logging: `--log-format json|text` and `--log-file FILE` (global options)
 * start one logger per run, record `command.start` and `command.end` (status, exit code, duration,
 * the typed error) and hand the logger to commands through `ctx.logger`.
 */

/** What the command log needs of a run's context (the CLI's `CliContext` is one). */
export interface CommandLogContext {
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  interactive: boolean;
  /** Set while the run logs; commands hand it to features. */
  logger?: Logger;
}

interface Started {
  logger: Logger;
  startedAt: number;
}
const started = new WeakMap<CommandLogContext, Started>();

/** The full command path without the program name, e.g. "cert rotate". */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

export function startCommandLog(
  ctx: CommandLogContext,
  action: Command,
  globals: { logFormat?: string; logFile?: string },
  now: () => number = Date.now,
): void {
  if (!globals.logFormat && !globals.logFile) return;
  const format = parseLogFormat(globals.logFormat) ?? "json";
  const command = commandPath(action);
  const logger = createLogger({
    format,
    ...(globals.logFormat ? { stream: ctx.stderr } : {}),
    ...(globals.logFile ? { filePath: globals.logFile } : {}),
    fields: { command },
    onFileError: (message) => ctx.stderr.write(`${message}\n`),
  });
  // Values the user handed us through the environment are secrets whatever their shape.
  for (const name of [
    "EXO_CERTIFICATE_PASSWORD",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "EXO_ADMIN_ACCESS_TOKEN",
  ]) {
    const value = ctx.env[name];
    if (value) logger.addSecret(value);
  }
  ctx.logger = logger;
  started.set(ctx, { logger, startedAt: now() });
  logger.event("command.start", { interactive: ctx.interactive, pid: process.pid });
}

export function finishCommandLog(
  ctx: CommandLogContext,
  error?: unknown,
  now: () => number = Date.now,
): void {
  const run = started.get(ctx);
  if (!run) return;
  started.delete(ctx);
  const durationMs = now() - run.startedAt;
  if (error === undefined) {
    run.logger.event("command.end", { status: "ok", exitCode: 0, durationMs });
  } else {
    run.logger.event("command.end", { status: "error", exitCode: exitCodeFor(error), durationMs, error });
  }
  run.logger.close();
  if (ctx.logger === run.logger) delete ctx.logger;
}
