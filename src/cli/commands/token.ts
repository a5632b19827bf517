import { connectionFrom, connectionOptions } from "../common-options.js";
import { defineCommand, option } from "../define-command.js";
import { oneOf } from "../option-schemas.js";

/** `exo-cba token [--resource exchange|graph]` — an app-only access token on stdout, nothing else. */
export const command = defineCommand({
  name: "token",
  description:
    "print an app-only access token (e.g. for Connect-ExchangeOnline -AccessToken); only the token goes to " +
    "stdout, its expiry goes to stderr",
  examples: [
    "exo-cba token > token.txt",
    'pwsh -c "Connect-ExchangeOnline -AccessToken (Get-Content token.txt) -Organization contoso.onmicrosoft.com"',
    "exo-cba token --resource graph --output json",
  ],
  options: {
    resource: option("--resource <name>", "which service the token is for", oneOf(["exchange", "graph"]), {
      default: "exchange",
    }),
    output: option("-o, --output <format>", "text (the bare token) or json", oneOf(["text", "json"]), {
      default: "text",
    }),
    ...connectionOptions,
  },
  needs: "exchange",
  async run(ctx, opts) {
    const session = await ctx.session();
    const resolved = await session.resolve(connectionFrom(opts));
    const { provider, resourceUrl } = await session.tokenProvider(resolved, opts.resource);
    const token = await provider.getToken();
    return {
      accessToken: token.token,
      expiresOn: new Date(token.expiresOnTimestamp).toISOString(),
      expiresOnTimestamp: token.expiresOnTimestamp,
      resource: resourceUrl,
    };
  },
  render(t, opts, ctx) {
    if (opts.output === "json") {
      ctx.stdout.write(
        `${JSON.stringify({ accessToken: t.accessToken, expiresOn: t.expiresOn, resource: t.resource })}\n`,
      );
    } else ctx.stdout.write(`${t.accessToken}\n`);
    const minutes = Math.round((t.expiresOnTimestamp - Date.now()) / 60_000);
    ctx.stderr.write(
      `Token for ${t.resource} expires ${t.expiresOn} (in about ${minutes} min). Treat it like a password.\n`,
    );
  },
});
