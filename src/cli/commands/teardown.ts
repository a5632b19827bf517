import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import type { TeardownItem, TeardownResult } from "../../setup/teardown.js";
import type { CliContext } from "../context.js";
import { addOutputOption, outputFormatFrom, withExamples } from "../options.js";
import { requireString, transportFor } from "./setup.js";

/** `exo-cba teardown [--profile P] [--yes] [--remove-certificate]`: remove what setup created. */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("teardown")
    .description(
      "remove what setup created — directory role assignment, Exchange.ManageAsApp consent, service principal,\n" +
        "application, and the profile (with --remove-certificate also the local certificate and key).\n" +
        "Shows the plan first; running it again finds nothing and says so.",
    )
    .option("--profile <name>", "profile saved by setup (default: the default profile) [EXO_PROFILE]")
    .option("--organization <org>", "find the app in this tenant by --app-name instead of a profile")
    .option("--app-name <name>", "app name given to setup (with --organization)", "exo-cba")
    .option("--remove-certificate", "also delete the certificate and its private key from the local store")
    .option("--dry-run", "show what would be removed and stop")
    .option("--browser", "sign the admin in with a browser instead of a device code")
    .option("--admin-client-id <guid>", "public client app for the admin sign-in")
    .option(
      "--exchange-environment <name>",
      "O365Default, O365USGovGCCHigh, O365USGovDoD or O365China [EXO_ENVIRONMENT]",
    );
  addOutputOption(cmd);
  withExamples(cmd, [
    "exo-cba teardown --profile contoso.onmicrosoft.com",
    "exo-cba teardown --organization contoso.onmicrosoft.com --app-name exo-scripts --remove-certificate --yes",
    "exo-cba teardown --dry-run",
  ]);
  cmd.action(async (opts: Record<string, unknown>) => {
    const format = outputFormatFrom(opts);
    const dryRun = opts.dryRun === true;
    if (!dryRun && !ctx.yes && !ctx.interactive) {
      throw new UsageError(
        "teardown deletes objects in the tenant and needs a confirmation, but there is no terminal.",
        {
          hint: "Add --yes to remove without asking (or --dry-run to only see the plan).",
        },
      );
    }
    const adminClientId = requireString(opts, "adminClientId");
    const { resolveEndpoints } = await import("../../cloud/environments.js");
    const { confirm } = await import("../prompt.js");
    const { teardownExchangeApp } = await import("../../setup/teardown.js");
    const envName = requireString(opts, "exchangeEnvironment") ?? (ctx.env.EXO_ENVIRONMENT || undefined);
    const transport = await transportFor(ctx);
    try {
      const result = await teardownExchangeApp({
        ...(typeof opts.profile === "string" ? { profile: opts.profile } : {}),
        ...(typeof opts.organization === "string" ? { organization: opts.organization } : {}),
        ...(typeof opts.appName === "string" ? { appName: opts.appName } : {}),
        removeCertificate: opts.removeCertificate === true,
        dryRun,
        env: ctx.env,
        ...(envName || hasCustomEndpoints(ctx.env) ? { endpoints: resolveEndpoints(envName, ctx.env) } : {}),
        transport,
        signIn: {
          method: opts.browser === true ? "browser" : "device-code",
          ...(adminClientId ? { clientId: adminClientId } : {}),
          onMessage: (text) => ctx.stderr.write(`${text}\n`),
        },
        progress: (line) => ctx.stderr.write(`${line}\n`),
        confirm: async (plan) => {
          ctx.stderr.write(teardownPlanText(plan));
          return confirm(ctx, "Remove these?");
        },
      });
      await render(ctx, result, format);
    } finally {
      transport.close();
    }
  });
}

const hasCustomEndpoints = (env: NodeJS.ProcessEnv) =>
  Boolean(env.EXO_AUTHORITY_HOST || env.EXO_GRAPH_ENDPOINT || env.EXO_EXCHANGE_ENDPOINT);

export function teardownPlanText(plan: TeardownItem[]): string {
  return `Will remove:\n${plan.map((p) => `  - ${p.what.padEnd(18)} ${p.id}  ${p.detail}`).join("\n")}\n`;
}

async function render(ctx: CliContext, result: TeardownResult, format: import("../render.js").OutputFormat) {
  const { renderObject } = await import("../render.js");
  if (format !== "table") {
    renderObject(result, format, ctx.stdout);
    return;
  }
  if (result.status === "planned") ctx.stdout.write(teardownPlanText(result.plan));
  ctx.stdout.write(`${result.message}\n`);
}
