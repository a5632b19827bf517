import type { Command } from "commander";
import type { CliContext } from "../context.js";
import {
  addConnectionOptions,
  addOutputOption,
  connectionOptionsFrom,
  outputFormatFrom,
  withExamples,
} from "../options.js";

/**
 * `exo-cba test` — connect and run Get-OrganizationConfig; on failure say which link of the chain broke:
 * certificate → token → permission → role → propagation → cmdlet.
 */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("test")
    .description(
      "connect with a profile or options and run Get-OrganizationConfig; prints the organization, app, " +
        "certificate and the roles in the token, or says precisely which link of the chain is broken",
    );
  addConnectionOptions(cmd);
  addOutputOption(cmd, "table");
  withExamples(cmd, [
    "exo-cba test",
    "exo-cba test --profile contoso --output json",
    "exo-cba test --app-id 11111111-2222-3333-4444-555555555555 --organization contoso.onmicrosoft.com --certificate-thumbprint A1B2…",
  ]);
  cmd.action(async (opts: Record<string, unknown>) => {
    const format = outputFormatFrom(opts);
    const { resolveConnection } = await import("../../config/connection.js");
    const resolved = await resolveConnection(connectionOptionsFrom(opts), ctx.env);
    const { testConnection } = await import("../../exchange/test-connection.js");
    const { cmdletLogger } = await import("../../log/cmdlet-log.js");
    const onCallEnd = cmdletLogger(ctx.logger);
    const report = await testConnection(resolved, {
      env: ctx.env,
      onStep: (step) => {
        ctx.stderr.write(`${step.ok ? "ok  " : "FAIL"} ${step.name}: ${step.detail}\n`);
        ctx.logger?.event("test.step", {
          step: step.name,
          status: step.ok ? "ok" : "fail",
          detail: step.detail,
        });
      },
      ...(onCallEnd ? { onCallEnd } : {}),
    });
    const { renderObject } = await import("../render.js");
    renderObject(report, format, ctx.stdout);
  });
}
