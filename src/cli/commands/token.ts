import { type Command, Option } from "commander";
import type { CliContext } from "../context.js";
import { addConnectionOptions, connectionOptionsFrom, withExamples } from "../options.js";

/** `exo-cba token [--resource exchange|graph]` — an app-only access token on stdout, nothing else. */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("token")
    .description(
      "print an app-only access token (e.g. for Connect-ExchangeOnline -AccessToken); only the token goes to " +
        "stdout, its expiry goes to stderr",
    )
    .addOption(
      new Option("--resource <name>", "which service the token is for")
        .choices(["exchange", "graph"])
        .default("exchange"),
    )
    .addOption(
      new Option("-o, --output <format>", "text (the bare token) or json")
        .choices(["text", "json"])
        .default("text"),
    );
  addConnectionOptions(cmd);
  withExamples(cmd, [
    "exo-cba token > token.txt",
    'pwsh -c "Connect-ExchangeOnline -AccessToken (Get-Content token.txt) -Organization contoso.onmicrosoft.com"',
    "exo-cba token --resource graph --output json",
  ]);
  cmd.action(async (opts: Record<string, unknown>) => {
    const { resolveConnection } = await import("../../config/connection.js");
    const resolved = await resolveConnection(connectionOptionsFrom(opts), ctx.env);
    const { connectOptionsFromResolved, connectionEndpoints, createTokenProvider, createTransport } =
      await import("../../exchange/connect.js");
    const options = connectOptionsFromResolved(resolved, { env: ctx.env });
    const endpoints = connectionEndpoints(options);
    const resource = opts.resource === "graph" ? "graph" : "exchange";
    const transport = createTransport(options);
    try {
      const { provider } = await createTokenProvider(options, { endpoints, transport, resource });
      const token = await provider.getToken();
      const expiresOn = new Date(token.expiresOnTimestamp).toISOString();
      const resourceUrl = resource === "graph" ? endpoints.graphEndpoint : endpoints.exchangeResource;
      if (opts.output === "json") {
        ctx.stdout.write(
          `${JSON.stringify({ accessToken: token.token, expiresOn, resource: resourceUrl })}\n`,
        );
      } else {
        ctx.stdout.write(`${token.token}\n`);
      }
      const minutes = Math.round((token.expiresOnTimestamp - Date.now()) / 60_000);
      ctx.stderr.write(
        `Token for ${resourceUrl} expires ${expiresOn} (in about ${minutes} min). Treat it like a password.\n`,
      );
    } finally {
      transport.close();
    }
  });
}
