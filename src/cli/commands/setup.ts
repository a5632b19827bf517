import { UsageError } from "../../errors.js";
import type { SetupResult } from "../../setup/setup.js";
import type { PlanItem, StepProgress } from "../../setup/steps.js";
import { exchangeEnvironmentOption, outputOption } from "../common-options.js";
import type { CliContext } from "../context.js";
import { defineCommand, option, type RunContext } from "../define-command.js";
import { duration, flag, nonEmpty, number, oneOf, optional, requiredText, text } from "../option-schemas.js";

export const ROLES = [
  "global-reader",
  "exchange-recipient-administrator",
  "exchange-administrator",
  "security-reader",
  "compliance-administrator",
  "helpdesk-administrator",
  "security-administrator",
  "global-administrator",
] as const;

/**
 * `exo-cba setup --organization ORG [--role R] ...`: provision (or converge) the app, permission, consent,
 * certificate and directory role; verify with a live Exchange call; save a profile.
 */
export const command = defineCommand({
  name: "setup",
  description:
    "create or update everything app-only Exchange Online access needs — app registration, Exchange.ManageAsApp\n" +
    "with admin consent, certificate, service principal, directory role — show the plan first, wait for\n" +
    "replication, prove it works with Get-OrganizationConfig, and save a profile. Safe to run again.",
  examples: [
    "exo-cba setup --organization contoso.onmicrosoft.com --role global-reader",
    "exo-cba setup --organization contoso.onmicrosoft.com --role exchange-administrator --app-name exo-scripts --yes",
    "exo-cba setup --organization contoso.onmicrosoft.com --role global-reader --dry-run",
    "EXO_ADMIN_ACCESS_TOKEN=$TOKEN exo-cba setup --organization contoso.onmicrosoft.com --role global-reader --yes -o json",
  ],
  options: {
    organization: option(
      "--organization <org>",
      "tenant: the *.onmicrosoft.com domain or the tenant id [EXO_ORGANIZATION, AZURE_TENANT_ID]",
      nonEmpty(),
    ),
    appName: option(
      "--app-name <name>",
      "display name of the app; also keys re-runs to the same app",
      requiredText(),
      {
        default: "exo-cba",
      },
    ),
    role: option(
      "--role <role>",
      "directory role for the app; Exchange applies it through its role group (docs/exchange-rbac.md).\n" +
        "Reporting scripts (report usage, Get-Mailbox, Get-MailboxStatistics, Get-Recipient) need only\n" +
        "global-reader, the least privilege; Set-Mailbox and other recipient changes need\n" +
        "exchange-recipient-administrator; organization settings exchange-administrator.\n" +
        "security-reader and security-administrator cannot read mailboxes or statistics",
      optional(oneOf(ROLES)),
    ),
    certificateThumbprint: option(
      "--certificate-thumbprint <hex>",
      "register this certificate from the local store",
      nonEmpty(),
    ),
    certificateFilePath: option(
      "--certificate-file-path <file>",
      "register the certificate in this PFX/PEM (or public .cer) file",
      nonEmpty(),
    ),
    certificatePasswordFile: option(
      "--certificate-password-file <file>",
      "file whose first line is the PFX/PEM password (or set EXO_CERTIFICATE_PASSWORD)",
      nonEmpty(),
    ),
    years: option(
      "--years <n>",
      "validity of a newly created certificate in years (default 1)",
      optional(number({ min: 1, max: 50 })),
    ),
    profile: option("--profile <name>", "profile to save (default: the organization)", text()),
    dryRun: option("--dry-run", "show the plan and stop; nothing is changed", flag()),
    timeout: option(
      "--timeout <duration>",
      "give up waiting for replication after this long (e.g. 300s, 5m)",
      duration(),
      { default: "5m" },
    ),
    browser: option(
      "--browser",
      "sign the admin in with a browser (loopback redirect) instead of a device code",
      flag(),
    ),
    adminClientId: option(
      "--admin-client-id <guid>",
      "public client app for the admin sign-in (default: Microsoft Graph Command Line Tools)",
      nonEmpty(),
    ),
    skipVerify: option(
      "--skip-verify",
      "do not prove the setup with a live Exchange call (not recommended)",
      flag(),
    ),
    exchangeEnvironment: exchangeEnvironmentOption,
    ...outputOption(),
  },
  needs: "admin",
  run: runSetupCommand,
  render: renderSetupResult,
});

/** Read, validate, sign in, plan, confirm, apply, verify. */
async function runSetupCommand(
  ctx: RunContext,
  opts: {
    organization?: string | undefined;
    appName: string;
    role?: (typeof ROLES)[number] | undefined;
    certificateThumbprint?: string | undefined;
    certificateFilePath?: string | undefined;
    certificatePasswordFile?: string | undefined;
    years?: number | undefined;
    profile?: string | undefined;
    dryRun: boolean;
    timeout: number;
    browser: boolean;
    adminClientId?: string | undefined;
    skipVerify: boolean;
    exchangeEnvironment?: string | undefined;
  },
): Promise<SetupResult> {
  const organization =
    opts.organization ?? (ctx.env.EXO_ORGANIZATION || ctx.env.AZURE_TENANT_ID || undefined);
  if (!organization) {
    throw new UsageError("Missing --organization.", {
      hint: "Give the tenant's primary domain, e.g. --organization contoso.onmicrosoft.com (or set EXO_ORGANIZATION).",
    });
  }
  const thumbprint = opts.certificateThumbprint;
  const filePath = opts.certificateFilePath;
  if (thumbprint && filePath) {
    throw new UsageError("Give either --certificate-thumbprint or --certificate-file-path, not both.");
  }
  const dryRun = opts.dryRun;
  const { normalizeThumbprint, validateAppId, validateOrganization } = await import(
    "../../config/validate.js"
  );
  validateOrganization(organization);
  const adminClientId = opts.adminClientId;
  if (adminClientId) validateAppId(adminClientId);

  // Decide everything that needs a human before anyone signs in: no device code for a run that cannot finish.
  const role = opts.role ?? (await chooseRole(ctx));
  if (!dryRun && !ctx.yes && !ctx.interactive) {
    throw new UsageError(
      "setup changes the tenant and needs a confirmation, but there is no terminal to ask on.",
      {
        hint: "Add --yes to apply without asking (or --dry-run to only see the plan).",
      },
    );
  }

  let certificate: import("../../setup/certificate.js").CertificateChoice | undefined;
  if (thumbprint) certificate = { thumbprint: normalizeThumbprint(thumbprint) };
  else if (filePath) {
    const { readPasswordFile } = await import("../../config/connection.js");
    const passwordFile = opts.certificatePasswordFile;
    const password = passwordFile
      ? await readPasswordFile(passwordFile)
      : ctx.env.EXO_CERTIFICATE_PASSWORD || ctx.env.AZURE_CLIENT_CERTIFICATE_PASSWORD || undefined;
    certificate = password === undefined ? { path: filePath } : { path: filePath, password };
  }

  const { resolveEndpoints } = await import("../../cloud/environments.js");
  const { confirm } = await import("../prompt.js");
  const { setupExchangeApp } = await import("../../setup/setup.js");
  const endpoints = resolveEndpoints(
    opts.exchangeEnvironment ?? (ctx.env.EXO_ENVIRONMENT || undefined),
    ctx.env,
  );
  const session = await ctx.session();
  return setupExchangeApp({
    organization,
    role,
    appName: opts.appName,
    ...(certificate ? { certificate } : {}),
    ...(opts.years ? { certificateYears: opts.years } : {}),
    ...(opts.profile !== undefined ? { profile: opts.profile } : {}),
    dryRun,
    timeoutMs: opts.timeout,
    skipVerify: opts.skipVerify,
    env: ctx.env,
    endpoints,
    transport: session.transport,
    signIn: {
      method: opts.browser ? "browser" : "device-code",
      ...(adminClientId ? { clientId: adminClientId } : {}),
      onMessage: (text) => ctx.stderr.write(`${text}\n`),
    },
    progress: progressPrinter(ctx),
    onPlan: (plan) => {
      if (!dryRun) ctx.stderr.write(planText(plan, organization));
    },
    confirm: () => confirm(ctx, `Apply these changes to ${organization}?`),
  });
}

const ROLE_PROMPT =
  "Which directory role should the app get? Exchange Online reads it from the app's token.\n" +
  "Least privilege: Global Reader for reports (mailboxes, statistics, recipients); Exchange Recipient\n" +
  "Administrator to change recipients; Exchange Administrator only for organization settings. Each role acts\n" +
  "through its Exchange role group (docs/exchange-rbac.md). (Alternative: no directory role, and an Exchange\n" +
  "RBAC role group for the service principal — see docs/setup.md.)";

async function chooseRole(ctx: CliContext): Promise<string> {
  const { DIRECTORY_ROLES } = await import("../../auth/roles.js");
  const { choose } = await import("../prompt.js");
  return choose(
    ctx,
    ROLE_PROMPT,
    DIRECTORY_ROLES.map((r) => ({ value: r.name, label: `${r.displayName} — ${r.purpose}` })),
    "--role",
  );
}

const ACTION_MARK: Record<string, string> = { exists: "=", create: "+", update: "~" };

export function planText(plan: PlanItem[], organization: string): string {
  const lines = plan.map((p) => `  ${ACTION_MARK[p.action] ?? "?"} ${p.title.padEnd(46)} ${p.detail}`);
  const changes = plan.filter((p) => p.action !== "exists").length;
  const head = changes
    ? `Plan for ${organization} (+ create, ~ update, = already in place):`
    : `Everything is already in place in ${organization}:`;
  return `${head}\n${lines.join("\n")}\n`;
}

/**
 * Progress on stderr with elapsed time; replication waits are shown at most every 5 s per step. With a
 * logger, each line shown is also a `setup.step` record.
 */
export function progressPrinter(ctx: CliContext): (event: StepProgress) => void {
  const lastWait = new Map<string, number>();
  return (e) => {
    if (e.status === "waiting") {
      const last = lastWait.get(e.step);
      if (last !== undefined && e.elapsedMs - last < 5000) return;
      lastWait.set(e.step, e.elapsedMs);
    }
    if (e.status === "start" && e.step !== "verify" && e.step !== "sign-in") return;
    // The same events as the lines below, for unattended runs with --log-format/--log-file.
    ctx.logger?.event("setup.step", {
      step: e.step,
      status: e.status,
      elapsedMs: e.elapsedMs,
      title: e.title,
      ...(e.detail ? { detail: e.detail } : {}),
    });
    const mark =
      e.status === "done"
        ? "ok  "
        : e.status === "failed"
          ? "FAIL"
          : e.status === "waiting"
            ? "wait"
            : "... ";
    const detail = e.detail ? `: ${e.detail}` : "";
    ctx.stderr.write(`[${seconds(e.elapsedMs)}] ${mark} ${e.title}${detail}\n`);
  };
}

async function renderSetupResult(
  result: SetupResult,
  opts: { output: import("../render.js").OutputFormat },
  ctx: CliContext,
): Promise<void> {
  const format = opts.output;
  const { renderObject, renderRows } = await import("../render.js");
  if (format !== "table") {
    if (result.status === "planned" && format === "csv") {
      await renderRows(result.plan as unknown as Record<string, unknown>[], format, ctx.stdout);
    } else renderObject(result, format, ctx.stdout);
    return;
  }
  const out = (line = "") => ctx.stdout.write(`${line}\n`);
  if (result.status === "planned") {
    out(planText(result.plan, result.organization).trimEnd());
    out("(dry run: nothing was changed)");
    return;
  }
  if (result.status === "cancelled") {
    out("Setup cancelled; nothing was changed.");
    return;
  }
  const v = result.verification;
  out(
    result.status === "unchanged"
      ? `Setup for ${result.organization}: everything was already in place.`
      : `Setup for ${result.organization}: done.`,
  );
  if (v?.ok) {
    out(
      `Verified: Get-OrganizationConfig succeeded as the app (${v.attempts} attempt(s), ${(v.elapsedMs / 1000).toFixed(1)} s).`,
    );
  } else if (v?.skipped) out(`Not verified: ${v.skipped}.`);
  out();
  out(`App (client) id       ${result.appId}`);
  out(`Tenant id             ${result.tenantId}`);
  out(
    `Certificate           ${result.certificate?.thumbprint} (valid until ${result.certificate?.notAfter.slice(0, 10)})`,
  );
  out(`Directory role        ${result.role.displayName}`);
  out(`Profile               ${result.profile}`);
  const c = result.connect;
  if (!c) return;
  out();
  out("Environment variables:");
  for (const [k, v2] of Object.entries(c.environment)) out(`  ${k}=${v2}`);
  out();
  out("exo-cba:");
  out(`  ${c.exoCba}`);
  out();
  out("PowerShell on Windows (certificate in the CurrentUser\\My store):");
  out(`  ${c.powershell}`);
  out();
  out("PowerShell on Linux/macOS (PFX file):");
  out(`  ${c.exportPfx}`);
  out(`  ${c.powershellFilePath}`);
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1).padStart(5)}s`;
