import type { TeardownItem, TeardownResult } from "../../setup/teardown.js";
import { exchangeEnvironmentOption, outputOption } from "../common-options.js";
import type { CliContext } from "../context.js";
import { defineCommand, option } from "../define-command.js";
import { flag, nonEmpty, requiredText, text } from "../option-schemas.js";
import type { OutputFormat } from "../render.js";

/** `exo-cba teardown [--profile P] [--yes] [--remove-certificate]`: remove what setup created. */
export const command = defineCommand({
  name: "teardown",
  description:
    "remove what setup created — directory role assignment, Exchange.ManageAsApp consent, service principal,\n" +
    "application, and the profile (with --remove-certificate also the local certificate and key).\n" +
    "Shows the plan first; running it again finds nothing and says so.",
  examples: [
    "exo-cba teardown --profile contoso.onmicrosoft.com",
    "exo-cba teardown --organization contoso.onmicrosoft.com --app-name exo-scripts --remove-certificate --yes",
    "exo-cba teardown --dry-run",
  ],
  options: {
    profile: option(
      "--profile <name>",
      "profile saved by setup (default: the default profile) [EXO_PROFILE]",
      text(),
    ),
    organization: option(
      "--organization <org>",
      "find the app in this tenant by --app-name instead of a profile",
      text(),
    ),
    appName: option("--app-name <name>", "app name given to setup (with --organization)", requiredText(), {
      default: "exo-cba",
    }),
    removeCertificate: option(
      "--remove-certificate",
      "also delete the certificate and its private key from the local store",
      flag(),
    ),
    dryRun: option("--dry-run", "show what would be removed and stop", flag()),
    browser: option("--browser", "sign the admin in with a browser instead of a device code", flag()),
    adminClientId: option("--admin-client-id <guid>", "public client app for the admin sign-in", nonEmpty()),
    exchangeEnvironment: exchangeEnvironmentOption,
    ...outputOption(),
  },
  needs: "admin",
  async run(ctx, opts) {
    const { UsageError } = await import("../../errors.js");
    if (!opts.dryRun && !ctx.yes && !ctx.interactive) {
      throw new UsageError(
        "teardown deletes objects in the tenant and needs a confirmation, but there is no terminal.",
        {
          hint: "Add --yes to remove without asking (or --dry-run to only see the plan).",
        },
      );
    }
    const { resolveEndpoints } = await import("../../cloud/environments.js");
    const { confirm } = await import("../prompt.js");
    const { teardownExchangeApp } = await import("../../setup/teardown.js");
    const envName = opts.exchangeEnvironment ?? (ctx.env.EXO_ENVIRONMENT || undefined);
    const session = await ctx.session();
    return teardownExchangeApp({
      ...(opts.profile !== undefined ? { profile: opts.profile } : {}),
      ...(opts.organization !== undefined ? { organization: opts.organization } : {}),
      appName: opts.appName,
      removeCertificate: opts.removeCertificate,
      dryRun: opts.dryRun,
      env: ctx.env,
      ...(envName || hasCustomEndpoints(ctx.env) ? { endpoints: resolveEndpoints(envName, ctx.env) } : {}),
      transport: session.transport,
      signIn: {
        method: opts.browser ? "browser" : "device-code",
        ...(opts.adminClientId ? { clientId: opts.adminClientId } : {}),
        onMessage: (text) => ctx.stderr.write(`${text}\n`),
      },
      progress: (line) => ctx.stderr.write(`${line}\n`),
      confirm: async (plan) => {
        ctx.stderr.write(teardownPlanText(plan));
        return confirm(ctx, "Remove these?");
      },
    });
  },
  render: (result, opts, ctx) => render(ctx, result, opts.output),
});

const hasCustomEndpoints = (env: NodeJS.ProcessEnv) =>
  Boolean(env.EXO_AUTHORITY_HOST || env.EXO_GRAPH_ENDPOINT || env.EXO_EXCHANGE_ENDPOINT);

export function teardownPlanText(plan: TeardownItem[]): string {
  return `Will remove:\n${plan.map((p) => `  - ${p.what.padEnd(18)} ${p.id}  ${p.detail}`).join("\n")}\n`;
}

async function render(ctx: CliContext, result: TeardownResult, format: OutputFormat) {
  const { renderObject } = await import("../render.js");
  if (format !== "table") {
    renderObject(result, format, ctx.stdout);
    return;
  }
  if (result.status === "planned") ctx.stdout.write(teardownPlanText(result.plan));
  ctx.stdout.write(`${result.message}\n`);
}
