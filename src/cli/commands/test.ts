import { connectionFrom, connectionOptions, outputOption } from "../common-options.js";
import { defineCommand } from "../define-command.js";

/**
 * `exo-cba test` — connect and run Get-OrganizationConfig; on failure say which link of the chain broke:
 * certificate → token → permission → role → propagation → cmdlet.
 */
export const command = defineCommand({
  name: "test",
  description:
    "connect with a profile or options and run Get-OrganizationConfig; prints the organization, app, " +
    "certificate and the roles in the token, or says precisely which link of the chain is broken",
  examples: [
    "exo-cba test",
    "exo-cba test --profile contoso --output json",
    "exo-cba test --app-id 11111111-2222-3333-4444-555555555555 --organization contoso.onmicrosoft.com --certificate-thumbprint A1B2…",
  ],
  options: { ...connectionOptions, ...outputOption("table") },
  needs: "exchange",
  async run(ctx, opts) {
    const session = await ctx.session();
    const resolved = await session.resolve(connectionFrom(opts));
    const { testConnection } = await import("../../exchange/test-connection.js");
    const { cmdletLogger } = await import("../../log/cmdlet-log.js");
    const onCallEnd = cmdletLogger(ctx.logger);
    return testConnection(resolved, {
      env: ctx.env,
      transport: session.transport,
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
  },
});
