import { PassThrough } from "node:stream";
import type { CliContext } from "../../src/cli/context.js";
import { main } from "../../src/cli/main.js";

/** A CLI context whose stdout/stderr are captured; never interactive (like cron) unless asked. */
export function capturedContext(env: NodeJS.ProcessEnv = {}, extra: Partial<CliContext> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c: Buffer) => {
    out += c.toString("utf8");
  });
  stderr.on("data", (c: Buffer) => {
    err += c.toString("utf8");
  });
  const ctx: CliContext = { stdout, stderr, env, interactive: false, debug: false, yes: false, ...extra };
  return { ctx, stdout: () => out, stderr: () => err };
}

/** Run the CLI in-process, exactly as `exo-cba …` would, and return its exit code and output. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = {}, extra: Partial<CliContext> = {}) {
  const c = capturedContext(env, extra);
  const code = await main(argv, c.ctx);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}
