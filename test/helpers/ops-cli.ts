import { PassThrough } from "node:stream";
import type { CliContext } from "../../src/cli/context.js";
import { main } from "../../src/cli/main.js";

/** Run the CLI in-process with captured stdout/stderr, never interactive (like cron). */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = {}, extra: Partial<CliContext> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c) => {
    out += c.toString();
  });
  stderr.on("data", (c) => {
    err += c.toString();
  });
  const ctx: CliContext = { stdout, stderr, env, interactive: false, debug: false, yes: false, ...extra };
  const code = await main(argv, ctx);
  return { code, stdout: out, stderr: err };
}

/** The JSON log records among stderr lines (other lines are human messages). */
export function jsonRecords(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
