import type { Command } from "commander";
import { PartialResultError, ServerError } from "../../errors.js";
import { type CliContext, note } from "../context.js";
import {
  addConnectionOptions,
  addOutputOption,
  connectionOptionsFrom,
  outputFormatFrom,
  withExamples,
} from "../options.js";

/** `exo-cba invoke CMDLET [-Name value ...] [--parameters-json J] [--raw]` — run any cmdlet, stream all pages. */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("invoke")
    .description(
      "run any Exchange Online cmdlet app-only and stream every page of its result\n" +
        "(parameters PowerShell-style after the cmdlet name: -Name value, -Switch, -Switch:$false, -List a,b)",
    )
    .argument("<cmdlet>", "cmdlet name, Verb-Noun (e.g. Get-Mailbox)")
    .argument("[parameters...]", "cmdlet parameters, PowerShell-style")
    .option("--parameters-json <json>", "parameters as a JSON object (hashtables, nested values)")
    .option("--raw", "keep the wire form (@odata.type annotations, size strings without byte columns)")
    .allowUnknownOption()
    .allowExcessArguments();
  addConnectionOptions(cmd);
  addOutputOption(cmd, "table");
  withExamples(cmd, [
    "exo-cba invoke Get-Mailbox -ResultSize Unlimited --output ndjson",
    "exo-cba invoke Get-Mailbox -Identity adele@contoso.com -Archive --output json",
    "exo-cba invoke Get-EXOMailbox -RecipientTypeDetails UserMailbox,SharedMailbox -ResultSize 500 -o csv",
    `exo-cba invoke Set-Mailbox -Identity adele@contoso.com --parameters-json '{"EmailAddresses":{"Add":["smtp:a@contoso.com"]}}'`,
    "exo-cba invoke Get-OrganizationConfig -- -Verbose:$false   # after --, nothing is read as an exo-cba option",
  ]);
  cmd.action(async (cmdlet: string, _parameters: string[], opts: Record<string, unknown>, self: Command) => {
    const { parseCmdletArguments, mergeParametersJson } = await import("../../exchange/powershell-args.js");
    const { validateCmdletName } = await import("../../exchange/client.js");
    const { resolveConnection } = await import("../../config/connection.js");

    // Everything is checked before the first request: cmdlet name, parameters, connection options.
    validateCmdletName(cmdlet);
    const tokens = self.args.slice(self.args.indexOf(cmdlet) + 1);
    const params = mergeParametersJson(
      parseCmdletArguments(tokens),
      typeof opts.parametersJson === "string" ? opts.parametersJson : undefined,
    );
    const format = outputFormatFrom(opts);
    const resolved = await resolveConnection(connectionOptionsFrom(opts), ctx.env);

    const { connectFromResolved } = await import("../../exchange/connect.js");
    const { renderRows } = await import("../render.js");
    const connection = await connectFromResolved(resolved, { env: ctx.env });
    const cmdletErrors: string[] = [];
    try {
      const rows = connection.stream(cmdlet, params, {
        raw: opts.raw === true,
        onWarning: (w) => note(ctx, `WARNING: ${w}`),
        onError: (e) => {
          cmdletErrors.push(e);
          note(ctx, `ERROR: ${e}`);
        },
      });
      const count = await renderRows(rows, format, ctx.stdout);
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
  });
}
