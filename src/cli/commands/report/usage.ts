import type { ConnectionOptions, ResolvedConnection } from "../../../config/connection.js";
import { PartialResultError, UsageError } from "../../../errors.js";
import type { ConnectOptions } from "../../../exchange/connect.js";
import type { Logger } from "../../../log/log.js";
import type {
  ReportFormat,
  TenantEndInfo,
  TenantTarget,
  UsageReportResult,
} from "../../../report/usage-report.js";
import { assertWritableDirectory, MAX_SMALL_FILE_BYTES, readFileCapped } from "../../../util/fs.js";
import { connectionFrom, connectionOptions, networkFrom, networkOptions } from "../../common-options.js";
import { type CliContext, note } from "../../context.js";
import { defineCommand, option, type Parsed } from "../../define-command.js";
import { flag, fromText, number, oneOf, optional, text } from "../../option-schemas.js";
import { OUTPUT_FORMATS, type OutputFormat, renderObject, renderRows } from "../../render.js";
import { vb365Options } from "./vb365.js";

const FORMATS: readonly ReportFormat[] = ["csv", "json", "html"];
const MAX_CONCURRENCY = 256;
/** The report's cmdlets answer in seconds; a request silent this long is retried (docs/report.md). */
export const REPORT_REQUEST_TIMEOUT_MS = 300_000;

/** `--format csv,json,html` → the list, in that canonical order. */
export function parseFormats(value: string | undefined): ReportFormat[] | undefined {
  if (value === undefined) return undefined;
  const asked = String(value)
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const unknown = asked.filter((f) => !(FORMATS as readonly string[]).includes(f));
  if (asked.length === 0 || unknown.length > 0) {
    throw new UsageError(`Unknown report format '${unknown[0] ?? value}'.`, {
      hint: "Use --format with one or more of csv, json, html, e.g. --format csv,html.",
    });
  }
  return FORMATS.filter((f) => asked.includes(f));
}

/** A byte count: plain digits, optionally with thousands separators. */
export function parseStoredBytes(text: string, source: string): number {
  const cleaned = text.trim().replace(/[,_\s]/g, "");
  if (!/^\d+$/.test(cleaned) || !Number.isSafeInteger(Number(cleaned))) {
    throw new UsageError(
      `${source} must be a number of bytes (a whole number), not '${text.trim().slice(0, 40)}'.`,
      {
        hint: "Give the bytes your backup repository stores for these mailboxes, e.g. --backup-stored-bytes 1234567890.",
      },
    );
  }
  return Number(cleaned);
}

/** `--backup-stored-file F`: the file holds a byte count, or JSON `{ "storedBytes": N }`. */
export async function readStoredBytesFile(path: string): Promise<number> {
  let text: string;
  try {
    text = (await readFileCapped(path, MAX_SMALL_FILE_BYTES, "--backup-stored-file")).toString("utf8");
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`Cannot read --backup-stored-file ${path}: ${(error as Error).message}`);
  }
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      throw new UsageError(`${path} is not valid JSON.`, {
        hint: 'Write { "storedBytes": 1234567890 } or just the number.',
      });
    }
    const v = (json as { storedBytes?: unknown }).storedBytes;
    return parseStoredBytes(String(v ?? ""), `storedBytes in ${path}`);
  }
  return parseStoredBytes(trimmed, `The content of ${path}`);
}

/** Variables that would make every profile of a multi-profile run point at the same tenant. */
const CONNECTION_VARIABLES = [
  "EXO_APP_ID",
  "AZURE_CLIENT_ID",
  "EXO_ORGANIZATION",
  "AZURE_TENANT_ID",
  "EXO_CERTIFICATE_THUMBPRINT",
  "EXO_CERTIFICATE_FILE_PATH",
  "AZURE_CLIENT_CERTIFICATE_PATH",
  "EXO_PROFILE",
];

export const usageOptions = {
  format: option(
    "--format <list>",
    "report files to write to --out: csv, json, html (comma separated; default json)",
    optional(fromText((t) => parseFormats(t) ?? [])),
  ),
  out: option(
    "--out <dir>",
    "directory for the report files (without it only the summary is printed)",
    text(),
  ),
  concurrency: option(
    "--concurrency <n>",
    "most concurrent Exchange calls; lowered automatically while throttled",
    number({ min: 1, max: MAX_CONCURRENCY }),
    { default: "8" },
  ),
  profiles: option("--profiles <names>", "report several tenants: saved profiles, comma separated", text()),
  allProfiles: option("--all-profiles", "report every saved profile's tenant", flag()),
  resume: option(
    "--resume",
    "continue the last unfinished run: fetch only the mailboxes it is missing",
    flag(),
  ),
  backupStoredBytes: option(
    "--backup-stored-bytes <n>",
    "bytes the backup stores, to compute data reduction and capacity per mailbox",
    optional(fromText((t) => parseStoredBytes(t, "--backup-stored-bytes"))),
  ),
  backupStoredFile: option(
    "--backup-stored-file <file>",
    'file holding that byte count (or JSON {"storedBytes": n})',
    text(),
  ),
  ...vb365Options,
  ...connectionOptions,
  ...networkOptions("300 s"),
  // The usual output formats, plus the original VB365 script's seven columns.
  output: option("-o, --output <format>", "output format", oneOf([...OUTPUT_FORMATS, "vb365-columns"]), {
    default: "table",
  }),
};

/** The options as parsed; helpers take any part of them (the tests pass only some). */
export type UsageFlags = Partial<Parsed<typeof usageOptions>>;

/** `exo-cba report usage`: mailbox numbers for backup sizing. */
export const command = defineCommand({
  name: "usage",
  description:
    "mailbox usage for backup sizing: recipients, mailboxes by type, inactive mailboxes, archives,\n" +
    "primary/deleted-items/archive bytes and items per mailbox, totals, top 10, growth over runs",
  examples: [
    "exo-cba report usage",
    "exo-cba report usage --format csv,json,html --out ./reports",
    "exo-cba report usage --all-profiles --concurrency 16 --format html --out /srv/reports",
    "exo-cba report usage --resume --format csv --out ./reports   # after a partial run (exit 7)",
    "exo-cba report usage --backup-stored-bytes 1234567890123 --output json",
    "VB365_PASSWORD=… exo-cba report usage --vb365-server https://vb365:4443 --vb365-username 'DOMAIN\\svc-report' --format csv,html --out ./reports",
    "exo-cba report usage --vb365-server vb365 --vb365-certificate-fingerprint AB:CD:…:EF --output vb365-columns",
  ],
  options: usageOptions,
  needs: "exchange",
  async run(ctx, opts) {
    const formats = opts.format;
    const outDir = opts.out;
    if (formats && !outDir) {
      throw new UsageError("--format needs --out DIR: the directory to write the report files to.");
    }
    // Found now, not after an hour of collection: a read-only folder, a file, a full disk.
    if (outDir) await assertWritableDirectory(outDir, "--out");
    if (opts.backupStoredBytes !== undefined && opts.backupStoredFile !== undefined) {
      throw new UsageError("Give either --backup-stored-bytes or --backup-stored-file, not both.");
    }
    const backupStoredBytes =
      opts.backupStoredBytes ??
      (opts.backupStoredFile !== undefined ? await readStoredBytesFile(opts.backupStoredFile) : undefined);

    const [{ runUsageReport }, { homePaths, stateHome }, { ProgressReporter }] = await Promise.all([
      import("../../../report/usage-report.js"),
      import("../../../config/home.js"),
      import("../../../report/progress.js"),
    ]);
    const progress = new ProgressReporter(ctx.stderr, {
      tty: Boolean((ctx.stderr as { isTTY?: boolean }).isTTY),
    });
    const entries: Array<{ target: TenantTarget; resolved: ResolvedConnection }> = [];
    const targets = await buildTargets(opts, ctx, {
      onResolved: (target, resolved) => entries.push({ target, resolved }),
      onConnectionRetry: (tenant, reason) => progress.retrying(tenant, reason),
    });
    const { prepareBackup } = await import("./vb365.js");
    // Sign-in and organization/repository lookup before the long Exchange half (docs/report.md).
    const backupSessions = await prepareBackup(entries, opts, ctx);
    if (opts.output === "vb365-columns" && !targets.some((t) => t.backup)) {
      await backupSessions.close();
      throw new UsageError("--output vb365-columns needs a VB365 server.", {
        hint: "Give --vb365-server (or VB365_SERVER, or a profile saved with --vb365-save-profile).",
      });
    }
    // Ctrl-C aborts the calls in flight and stops issuing new ones; what is done is stored, so --resume
    // continues from there.
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once("SIGINT", onSigint);
    if (ctx.signal?.aborted) abort.abort();
    ctx.signal?.addEventListener("abort", onSigint, { once: true });
    try {
      return await runUsageReport({
        targets,
        historyPath: homePaths(stateHome(ctx.env)).history,
        concurrency: opts.concurrency,
        resume: opts.resume,
        staleDays: opts.staleDays,
        ...(backupStoredBytes === undefined ? {} : { backupStoredBytes }),
        ...(outDir ? { outDir, formats: formats ?? ["json"] } : {}),
        onProgress: (tenant, p) => progress.update(tenant, p),
        ...(ctx.logger ? { onTenantEnd: tenantLogger(ctx.logger) } : {}),
        signal: abort.signal,
      });
    } finally {
      process.removeListener("SIGINT", onSigint);
      ctx.signal?.removeEventListener("abort", onSigint);
      progress.finish();
      await backupSessions.close();
    }
  },
  async render(result, opts, ctx) {
    if (opts.output === "vb365-columns") await printVb365Columns(result, ctx);
    else await printSummary(result, opts.output, ctx);
    for (const file of result.files) note(ctx, `wrote ${file}`);
    for (const file of result.removedFiles)
      note(ctx, `removed ${file} (an earlier run's; nothing failed now)`);
    reportProblems(result, ctx);
  },
});

export interface TargetHooks {
  /** told each tenant's target with the connection it was resolved from (the VB365 half uses it) */
  onResolved?: (target: TenantTarget, resolved: ResolvedConnection) => void;
  /** a request is being retried because the endpoint could not be reached (refused, reset, timed out) */
  onConnectionRetry?: (tenant: string, reason: string) => void;
}

export async function buildTargets(
  opts: UsageFlags,
  ctx: CliContext,
  hooks: TargetHooks = {},
): Promise<TenantTarget[]> {
  const [{ readProfiles }, { stateHome }, { createSession }, { CircuitBreaker }] = await Promise.all([
    import("../../../config/profiles.js"),
    import("../../../config/home.js"),
    import("../../../session/session.js"),
    import("../../../http/circuit-breaker.js"),
  ]);
  // Each tenant's connection keeps its own sockets (a pool per tenant, as concurrency is per run).
  const session = createSession({ env: ctx.env });
  // One breaker for the whole run: the tenants share the Exchange endpoint.
  const breaker = new CircuitBreaker();
  const connection = connectionFrom(opts);
  let profileNames: string[] | undefined;
  if (opts.allProfiles || opts.profiles !== undefined) {
    if (opts.allProfiles && opts.profiles !== undefined) {
      throw new UsageError("Give either --profiles or --all-profiles, not both.");
    }
    const explicit = Object.keys(connection).filter((k) => k !== "exchangeEnvironment");
    if (explicit.length > 0) {
      throw new UsageError(
        "--profiles/--all-profiles take the connection of each profile; drop the connection flags.",
        {
          hint: "Run one tenant with --profile and flags, or several with --profiles only.",
        },
      );
    }
    const known = Object.keys((await readProfiles(stateHome(ctx.env))).profiles);
    profileNames =
      opts.allProfiles || opts.profiles === undefined
        ? known
        : opts.profiles
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean);
    if (profileNames.length === 0) {
      throw new UsageError("No profile to report on.", { hint: "Run `exo-cba setup` to create one." });
    }
  }

  const env = ctx.env;
  const network = networkFrom(opts, env);
  const timeoutMs = network.timeoutMs ?? REPORT_REQUEST_TIMEOUT_MS;
  // With logs on: a `cmdlet.end` record per listing call; the per-mailbox statistics calls (100,000 on a
  // large tenant) are summed up in the `report.tenant` record instead.
  let onCallEnd: ConnectOptions["onCallEnd"];
  if (ctx.logger) {
    const [{ cmdletLogger }, { STATISTICS_CMDLETS }] = await Promise.all([
      import("../../../log/cmdlet-log.js"),
      import("../../../report/cmdlets.js"),
    ]);
    onCallEnd = cmdletLogger(ctx.logger, (call) => !STATISTICS_CMDLETS.has(call.cmdlet));
  }
  const resolvedAll = profileNames
    ? await Promise.all(
        profileNames.map((profile) => {
          const isolated = { ...env };
          for (const v of CONNECTION_VARIABLES) delete isolated[v];
          const options: ConnectionOptions = { profile };
          if (connection.exchangeEnvironment) options.exchangeEnvironment = connection.exchangeEnvironment;
          return session.resolve(options, isolated);
        }),
      )
    : [await session.resolve(connection)];

  // The tenant (organization) is the history key: two profiles of one tenant are reported once.
  const seen = new Set<string>();
  const targets: TenantTarget[] = [];
  for (const resolved of resolvedAll) {
    const name = resolved.organization.toLowerCase();
    if (seen.has(name)) {
      note(
        ctx,
        `warning: ${resolved.organization} is reached by more than one profile; it is reported once.`,
      );
      continue;
    }
    seen.add(name);
    const target: TenantTarget = {
      name,
      organization: resolved.organization,
      connect: (retry) =>
        session.exchange(resolved, {
          ownTransport: true,
          retry: {
            sleep: retry.sleep,
            escalate: retry.escalate,
            onRetry: (info) => {
              retry.onRetry(info);
              if (info.reason.startsWith("connection failed")) hooks.onConnectionRetry?.(name, info.reason);
            },
            ...(network.maxAttempts === undefined ? {} : { maxAttempts: network.maxAttempts }),
          },
          timeoutMs,
          breaker,
          ...(onCallEnd ? { onCallEnd } : {}),
        }),
    };
    targets.push(target);
    hooks.onResolved?.(target, resolved);
  }
  return targets;
}

/** One `report.tenant` record per tenant: how big it was, what failed, what it cost. */
export function tenantLogger(logger: Logger): (info: TenantEndInfo) => void {
  return (info) => {
    const r = info.report;
    logger.event("report.tenant", {
      tenant: info.tenant,
      organization: info.organization,
      status: info.status,
      durationMs: info.durationMs,
      ...(r
        ? {
            mailboxes: r.counts.mailboxes,
            measured: r.mailboxes.length,
            failures: r.failures.length,
            warnings: r.warnings.length,
            calls: r.run.calls,
            cmdlets: r.run.cmdlets,
            resumed: r.run.resumed,
            windowCuts: r.run.windowCuts,
          }
        : {}),
      throttled: info.throttled,
      ...(info.stats ?? {}),
      ...(info.error ? { error: info.error } : {}),
    });
  };
}

async function printSummary(result: UsageReportResult, output: OutputFormat, ctx: CliContext): Promise<void> {
  const { summaryRows } = await import("../../../report/model.js");
  if (output === "json") {
    renderObject(
      {
        combined: result.summary,
        tenants: result.reports.map(({ mailboxes: _rows, ...rest }) => rest),
        tenantErrors: result.tenantErrors.map((e) => ({ tenant: e.tenant, error: errorJson(e.error) })),
        files: result.files,
      },
      "json",
      ctx.stdout,
    );
    return;
  }
  const rows = summaryRows(result.summary, result.reports);
  if (output === "table") {
    const { formatBinaryBytes, UNIT_NOTE } = await import("../../../report/bytes.js");
    const human = rows.map((r) => ({
      tenant: r.tenant,
      recipients: r.recipients,
      mailboxes: r.mailboxes,
      inactive: r.inactiveMailboxes ?? "unknown",
      archives: r.archives,
      primary: formatBinaryBytes(r.primaryBytes),
      deletedItems: formatBinaryBytes(r.deletedBytes),
      archive: formatBinaryBytes(r.archiveBytes),
      totalProtected: formatBinaryBytes(r.totalProtectedBytes),
      failures: r.failures,
    }));
    await renderRows(human, "table", ctx.stdout);
    ctx.stdout.write(`${UNIT_NOTE} Total protected = primary + deleted items + archive.\n`);
    for (const r of result.reports) {
      const v = r.vb365;
      if (!v) continue;
      if (v.status === "missing") {
        ctx.stdout.write(`${r.tenant}: backup side missing (${v.server}): ${v.reason}\n`);
        continue;
      }
      const pct = (n: number | null) => (n === null ? "n/a" : `${n.toFixed(1)} %`);
      ctx.stdout.write(
        `${r.tenant}: backup ${v.server}: ${v.protectedInExchange} of ${v.mailboxesInExchange} mailboxes protected, ` +
          `${v.unprotected.count} not protected, ${v.stale.count} stale (> ${v.stale.days} days), ${v.orphaned.count} backed up but not in Exchange; ` +
          `stored ${formatBinaryBytes(v.totals.storedBytes)}, reduction ${pct(v.dataReductionPercent)}` +
          `${v.otherWorkloads === false ? "" : " (other workloads share this repository)"}, ` +
          `${v.storedBytesPerProtectedMailbox === null ? "n/a" : formatBinaryBytes(v.storedBytesPerProtectedMailbox)} per protected mailbox\n`,
      );
    }
    return;
  }
  await renderRows(rows, output, ctx.stdout);
}

/** `--output vb365-columns`: the original script's seven columns, one row per tenant and repository. */
async function printVb365Columns(result: UsageReportResult, ctx: CliContext): Promise<void> {
  const { renderVb365Columns } = await import("../../../report/vb365-columns.js");
  const rows = [];
  const labels: string[] = [];
  for (const r of result.reports) {
    if (r.vb365?.status !== "complete") continue;
    for (const repo of r.vb365.repositories) {
      rows.push(repo.scriptColumns);
      labels.push(`${r.tenant} / ${repo.name}`);
    }
  }
  ctx.stdout.write(renderVb365Columns(rows));
  if (rows.length > 1) {
    labels.forEach((l, i) => {
      note(ctx, `row ${i + 1}: ${l}`);
    });
  }
}

const errorJson = (e: Error) =>
  typeof (e as { toJSON?: unknown }).toJSON === "function"
    ? (e as unknown as { toJSON(): unknown }).toJSON()
    : { error: e.name, message: e.message };

/** The errors section on stderr, then exit 7 when anything is missing. */
export function reportProblems(result: UsageReportResult, ctx: CliContext): void {
  for (const { tenant, error } of result.tenantErrors) {
    note(ctx, `error: tenant ${tenant} was not reported: ${error.message}`);
    const hint = (error as { hint?: string }).hint;
    if (hint) note(ctx, `hint: ${hint}`);
  }
  const failures = result.summary.failures;
  if (failures.length > 0) {
    note(
      ctx,
      `errors: ${failures.length} mailbox(es) could not be measured and are missing from the totals:`,
    );
    for (const f of failures.slice(0, 20)) {
      note(ctx, `  ${f.tenant}  ${f.identity}  (${f.stage}) ${f.errorType}: ${f.error}`);
    }
    if (failures.length > 20) note(ctx, `  … and ${failures.length - 20} more (see the report files).`);
  }
  const unsure = result.reports.filter((r) => r.status === "partial" && r.failures.length === 0);
  for (const r of unsure) {
    note(ctx, `error: tenant ${r.tenant} is not complete: ${r.warnings.at(-1) ?? "see the warnings"}`);
  }
  const backupMissing = result.reports.flatMap((r) =>
    r.vb365?.status === "missing" ? [{ tenant: r.tenant, section: r.vb365 }] : [],
  );
  for (const { tenant, section } of backupMissing) {
    note(
      ctx,
      `error: tenant ${tenant}: the backup side from ${section.server} is missing: ${section.reason}`,
    );
    if (section.hint) note(ctx, `hint: ${section.hint}`);
  }
  if (result.partial) {
    const parts = [
      failures.length > 0 && `${failures.length} mailbox(es) failed`,
      result.tenantErrors.length > 0 && `${result.tenantErrors.length} tenant(s) failed`,
      backupMissing.length > 0 && `the backup side of ${backupMissing.length} tenant(s) is missing`,
      unsure.length > 0 && `${unsure.length} tenant(s) listed no mailbox although they have recipients`,
    ].filter(Boolean);
    throw new PartialResultError(`The usage report is incomplete: ${parts.join(", ")}.`, {
      hint:
        failures.length > 0
          ? "Run the same command again with --resume to fetch only what is missing."
          : backupMissing.length > 0 && result.tenantErrors.length === 0
            ? "The Exchange figures are complete and written; fix the VB365 problem above and run again for the backup side."
            : "Fix the tenant's connection (see the error above; `exo-cba doctor` helps) and run again.",
    });
  }
}
