import type { Writable } from "node:stream";
import type { Logger } from "../log/log.js";
import { terminalSafe } from "./render.js";

/** What a command needs from the outside world; injected so tests can run commands in-process. */
export interface CliContext {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** True when a human can answer prompts: stdin is a terminal and CI is not set. */
  interactive: boolean;
  /** Global flags. */
  debug: boolean;
  yes: boolean;
  /** Structured logger when --log-format/--log-file is given (features log events through it). */
  logger?: Logger;
  /**
   * An interrupt besides SIGINT: commands that keep resumable state (report usage) stop on either, as
   * on Ctrl-C. Lets an embedding program (and the tests) interrupt a run.
   */
  signal?: AbortSignal;
  /**
   * The CLI itself (`main`, which sets it), for commands that run other command lines in-process: the
   * demo. Handed over here so that nothing below cli/ imports cli/main.ts.
   */
  runCli?: (argv: string[], ctx: CliContext) => Promise<number>;
}

/**
 * The package's root directory (file URL, with a trailing slash). This module sits two levels below it
 * both as tsc output (dist/cli/) and in the bundle (dist/bundle/), see scripts/bundle-cli.js.
 */
export const PACKAGE_ROOT = new URL("../../", import.meta.url);

export function defaultContext(): CliContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    interactive: Boolean(process.stdin.isTTY) && !process.env.CI,
    debug: false,
    yes: false,
  };
}

/** Progress, warnings and diagnostics go to stderr; data never does. Server text in them is terminal-safe. */
export function note(ctx: CliContext, line: string): void {
  ctx.stderr.write(`${terminalSafe(line)}\n`);
}
