/**
 * The usage report end to end: for every tenant (in parallel, under one global concurrency cap)
 * collect, store in the history, aggregate and compute growth; then write the files. Returns data;
 * the CLI decides how to print it and which exit code a partial result gets.
 */
import { setMaxListeners } from "node:events";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { type ExoCbaError, UsageError } from "../errors.js";
import { writeFileAtomic } from "../util/fs.js";
import type { BackupSnapshot } from "../vb365/backup.js";
import { aggregateUsage, computeBackupComparison, computeGrowth } from "./aggregate.js";
import {
  type BackupJoin,
  type BackupSection,
  backupMissing,
  computeBackupGrowth,
  computeCoverage,
  createBackupJoin,
} from "./backup-coverage.js";
import { type CollectProgress, collectTenantUsage } from "./collect.js";
import { mailboxCsvChunks, renderFailureCsv } from "./csv.js";
import { UsageHistory } from "./history.js";
import { renderCombinedHtml, renderTenantHtml } from "./html.js";
import { renderCombinedJson, tenantJsonChunks } from "./json.js";
import { AimdLimiter, Semaphore } from "./limiter.js";
import { type CombinedSummary, combineReports, type TenantReport } from "./model.js";
import { ThrottleSignal } from "./throttle-signal.js";
import type { MailboxFailure, UsageSource } from "./types.js";

export const REPORT_FORMATS = ["csv", "json", "html"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
export const DEFAULT_CONCURRENCY = 8;

/** A connection the report opened; `disconnect` is called when the tenant is done. */
export type TenantConnection = UsageSource & {
  disconnect?: () => Promise<void>;
  /** the connection's counters (what `connectExchangeOnline()` returns has them) */
  readonly stats?: { requests: number; retries: number; tokenRequests: number };
};

/** One tenant finished (reported, possibly partially, or failed as a whole): for logs and monitoring. */
export interface TenantEndInfo {
  tenant: string;
  organization: string;
  status: "complete" | "partial" | "error";
  durationMs: number;
  /** the tenant's report (without it when status is "error") */
  report?: TenantReport;
  /** why the tenant could not be reported */
  error?: Error;
  /** 429 retries the client made for this tenant */
  throttled: number;
  /** the connection's counters, when it was opened */
  stats?: { requests: number; retries: number; tokenRequests: number };
}

/** The VB365 side of one tenant (docs/report.md "Backup coverage"). */
export interface BackupTarget {
  /** the VB365 server's origin, for the report */
  server: string;
  /** why the backup side cannot be read (found before the run): the section says so, exit 7 */
  error?: Error;
  /** read the backup lists; runs once the Exchange half is collected (docs/report.md "Memory") */
  read?: () => Promise<BackupSnapshot>;
}

export interface TenantTarget {
  /** history key and file name part: the profile name, or the organization */
  name: string;
  organization: string;
  backup?: BackupTarget;
  /**
   * Open the connection with `retry`'s three hooks in the client's retry options: `onRetry` so throttling
   * and faults are seen, `sleep` so a call waiting before a retry frees its concurrency slot meanwhile, and
   * `escalate` so a call's backoff grows only while faults are sustained (docs/report.md).
   */
  connect(retry: {
    onRetry: ThrottleSignal["onRetry"];
    sleep: ThrottleSignal["sleep"];
    escalate: ThrottleSignal["escalate"];
  }): Promise<TenantConnection>;
}

export interface UsageReportOptions {
  targets: TenantTarget[];
  /** history database path (`homePaths(home).history`) */
  historyPath: string;
  /** maximum concurrent Exchange calls over all tenants (default 8) */
  concurrency?: number;
  /** continue each tenant's unfinished run instead of starting a new one */
  resume?: boolean;
  backupStoredBytes?: number;
  /** a protected mailbox whose newest backup is older than this many days is stale (default 2) */
  staleDays?: number;
  formats?: ReportFormat[];
  outDir?: string;
  /** injectable clock (run dates in the history and files) */
  now?: () => Date;
  onProgress?: (tenant: string, progress: CollectProgress) => void;
  onFailure?: (tenant: string, failure: MailboxFailure) => void;
  /** told once per tenant when it is done, whatever the outcome */
  onTenantEnd?: (info: TenantEndInfo) => void;
  signal?: AbortSignal;
}

export interface TenantError {
  tenant: string;
  error: ExoCbaError | Error;
}

export interface UsageReportResult {
  summary: CombinedSummary;
  reports: TenantReport[];
  /** tenants that could not be reported at all (authentication, authorization, connection) */
  tenantErrors: TenantError[];
  files: string[];
  /** files of an earlier run's set that this run has no content for (e.g. a stale errors CSV), removed */
  removedFiles: string[];
  /** some mailbox or tenant is missing: exit 7 */
  partial: boolean;
}

export async function runUsageReport(options: UsageReportOptions): Promise<UsageReportResult> {
  const now = options.now ?? (() => new Date());
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const globalSlots = new Semaphore(concurrency);
  const history = await UsageHistory.open(options.historyPath);
  const tenantErrors: TenantError[] = [];
  const reports: TenantReport[] = [];
  const interruption = options.signal ? followSignal(options.signal) : undefined;
  try {
    const settled = await Promise.all(
      options.targets.map((target) =>
        reportTenant(target, {
          ...options,
          ...(interruption ? { signal: interruption.signal } : {}),
          now,
          concurrency,
          globalSlots,
          history,
        }).then(
          (report) => ({ report }),
          (error: unknown) => ({ error: error instanceof Error ? error : new Error(String(error)) }),
        ),
      ),
    );
    settled.forEach((s, i) => {
      if ("report" in s) reports.push(s.report);
      else tenantErrors.push({ tenant: options.targets[i]!.name, error: s.error });
    });
    // Nothing to show at all: the single cause is the most useful answer (and its exit code).
    if (reports.length === 0 && tenantErrors.length > 0) throw tenantErrors[0]!.error;

    const summary = combineReports(reports, options.backupStoredBytes);
    const generatedAt = now().toISOString();
    let written: { files: string[]; removed: string[] } = { files: [], removed: [] };
    if (options.outDir) {
      try {
        written = await writeReportFiles(
          options.outDir,
          options.formats ?? ["json"],
          summary,
          reports,
          generatedAt,
        );
      } catch (error) {
        // The runs stay unfinished in the history: --resume writes the files without fetching again.
        throw new UsageError(
          `Cannot write the report files to ${options.outDir}: ${(error as Error).message}`,
          {
            hint: "The numbers are kept as an unfinished run: free space or fix the folder, then run the same command with --resume (nothing is fetched again).",
            cause: error,
          },
        );
      }
    }
    // Only now, with its files on disk, is a complete run recorded as complete.
    for (const report of reports) {
      if (report.status === "complete") history.markComplete(report.run.runId);
    }
    return {
      summary,
      reports,
      tenantErrors,
      files: written.files,
      removedFiles: written.removed,
      partial:
        summary.status === "partial" ||
        tenantErrors.length > 0 ||
        reports.some((r) => r.vb365?.status === "missing"),
    };
  } finally {
    interruption?.detach();
    history.close();
  }
}

/**
 * Our own signal that follows the caller's. Every call in flight listens for the interruption (hundreds at
 * once when mailboxes wait before a retry), which made Node warn "Possible EventTarget memory leak
 * detected. 11 abort listeners" on the user's terminal; the caller's signal gets one listener, and ours
 * has no listener limit (each call removes its own when it ends).
 */
function followSignal(outer: AbortSignal): { signal: AbortSignal; detach(): void } {
  const inner = new AbortController();
  setMaxListeners(0, inner.signal);
  const forward = () => inner.abort(outer.reason);
  if (outer.aborted) forward();
  else outer.addEventListener("abort", forward, { once: true });
  return { signal: inner.signal, detach: () => outer.removeEventListener("abort", forward) };
}

interface TenantRunContext extends UsageReportOptions {
  now: () => Date;
  concurrency: number;
  globalSlots: Semaphore;
  history: UsageHistory;
}

async function reportTenant(target: TenantTarget, ctx: TenantRunContext): Promise<TenantReport> {
  const throttle = new ThrottleSignal();
  if (!ctx.onTenantEnd) return collectTenant(target, ctx, throttle);
  const onTenantEnd = ctx.onTenantEnd;
  const started = ctx.now().getTime();
  let connection: TenantConnection | undefined;
  const end = (outcome: { report: TenantReport } | { error: Error }) => {
    const info: TenantEndInfo = {
      tenant: target.name,
      organization: target.organization,
      status: "report" in outcome ? outcome.report.status : "error",
      durationMs: ctx.now().getTime() - started,
      throttled: throttle.throttled,
      ...outcome,
    };
    const stats = connection?.stats;
    if (stats) {
      info.stats = { requests: stats.requests, retries: stats.retries, tokenRequests: stats.tokenRequests };
    }
    try {
      onTenantEnd(info);
    } catch {
      // An observer's failure (a log sink gone) must not fail the tenant.
    }
  };
  try {
    const report = await collectTenant(target, ctx, throttle, (c) => {
      connection = c;
    });
    end({ report });
    return report;
  } catch (error) {
    end({ error: error instanceof Error ? error : new Error(String(error)) });
    throw error;
  }
}

async function collectTenant(
  target: TenantTarget,
  ctx: TenantRunContext,
  throttle: ThrottleSignal,
  onConnected?: (connection: TenantConnection) => void,
): Promise<TenantReport> {
  const connection = await target.connect(throttle);
  onConnected?.(connection);
  try {
    const { history } = ctx;
    const unfinished = ctx.resume ? history.findUnfinishedRun(target.name) : undefined;
    const run = unfinished ?? history.startRun(target.name, ctx.now().toISOString());
    if (unfinished) history.reopenRun(unfinished.id);
    const completed = unfinished ? history.mailboxLookup(unfinished.id) : undefined;

    const limiter = new AimdLimiter({ max: ctx.concurrency });
    const collection = await collectTenantUsage(connection, {
      limiter,
      throttle,
      globalSlots: ctx.globalSlots,
      ...(completed ? { completed } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      // Rows go to the history as they come and are read back from it, in listing order, for the
      // aggregates, the backup join and each file: none is kept in memory (docs/report.md "Memory").
      retainRows: false,
      listingStore: history.listingStore(run.id),
      onMailboxDone: (usage) => history.recordMailbox(run.id, usage),
      onMailboxReused: (usage) => history.recordMailbox(run.id, usage),
      onMailboxFailed: (failure) => ctx.onFailure?.(target.name, failure),
      onProgress: (progress) => ctx.onProgress?.(target.name, progress),
    }).finally(() => history.dropListing(run.id));

    const rows = history.mailboxRows(run.id, collection.measured);
    const totals = aggregateUsage(rows);
    const status = collection.failures.length === 0 && !collection.incomplete ? "complete" : "partial";
    const finishedAt = ctx.now().toISOString();
    // Stored as unfinished until the report's files are written (runUsageReport marks it complete).
    history.finishRun(run.id, {
      status: "partial",
      finishedAt,
      counts: collection.counts,
      totals,
      failures: collection.failures.length,
    });
    let vb365: BackupSection | undefined;
    let join: BackupJoin | undefined;
    // The backup lists are read once the Exchange rows are in the history, so the two halves' data are
    // never on the heap together (docs/report.md "Memory"); a failure there never loses the Exchange half.
    const backupRead = startBackupRead(target.backup);
    if (target.backup && backupRead) {
      const outcome = await backupRead;
      if ("snapshot" in outcome) {
        join = createBackupJoin(outcome.snapshot);
        const coverage = computeCoverage({
          snapshot: outcome.snapshot,
          join,
          counts: collection.counts,
          mailboxes: rows,
          allMailboxesBytes: totals.totalProtectedBytes,
          ...(ctx.staleDays === undefined ? {} : { staleDays: ctx.staleDays }),
          now: ctx.now(),
        });
        const repositories = coverage.repositories
          .map((r) => r.id.toLowerCase())
          .sort()
          .join(",");
        if (status === "complete") {
          history.recordBackup(run.id, {
            server: coverage.server,
            organizationId: coverage.organization.id,
            repositories,
            readAt: coverage.readAt,
            protectedMailboxes: coverage.protectedMailboxes,
            protectedArchives: coverage.protectedArchives,
            protectedExchangeBytes: coverage.protectedExchangeBytes,
            allMailboxesBytes: coverage.allMailboxesBytes,
            usedSpaceBytes: coverage.totals.usedSpaceBytes,
            localCacheBytes: coverage.totals.localCacheUsedSpaceBytes,
            objectStorageBytes: coverage.totals.objectStorageUsedSpaceBytes,
            storedBytes: coverage.totals.storedBytes,
            licensedUsers: coverage.licensedUsers?.total ?? null,
          });
        }
        // The current run is marked complete only once its files are written: add its point here.
        coverage.growth = computeBackupGrowth([
          ...history.backupPoints(target.name, coverage.organization.id, repositories),
          ...(status === "complete"
            ? [
                {
                  at: finishedAt,
                  storedBytes: coverage.totals.storedBytes,
                  protectedExchangeBytes: coverage.protectedExchangeBytes,
                },
              ]
            : []),
        ]);
        vb365 = coverage;
      } else {
        vb365 = backupMissing(target.backup.server, outcome.error);
      }
    }
    return {
      tenant: target.name,
      organization: target.organization,
      status,
      ...(vb365 ? { vb365 } : {}),
      counts: collection.counts,
      totals,
      // This run counts as a point of the trend when it is complete (it is marked so once written).
      growth: computeGrowth([
        ...history.completedPoints(target.name),
        ...(status === "complete"
          ? [
              {
                runId: run.id,
                at: finishedAt,
                totalProtectedBytes: totals.totalProtectedBytes,
                mailboxes: collection.counts.mailboxes,
              },
            ]
          : []),
      ]),
      backup:
        ctx.backupStoredBytes === undefined || ctx.targets.length > 1
          ? null
          : computeBackupComparison(totals, ctx.backupStoredBytes),
      failures: collection.failures,
      warnings: collection.warnings,
      run: {
        runId: run.id,
        startedAt: run.startedAt,
        finishedAt,
        resumed: unfinished !== undefined,
        calls: collection.calls,
        cmdlets: collection.plan,
        throttled: throttle.throttled,
        windowCuts: limiter.decreases,
      },
      // read from the history while it is open (the files are written from it)
      mailboxes: join ? history.mailboxRows(run.id, collection.measured, join.annotate) : rows,
    };
  } finally {
    await connection.disconnect?.();
  }
}

type BackupOutcome = { snapshot: BackupSnapshot } | { error: Error };

function startBackupRead(backup: BackupTarget | undefined): Promise<BackupOutcome> | undefined {
  if (!backup) return undefined;
  if (backup.error) return Promise.resolve({ error: backup.error });
  if (!backup.read) return undefined;
  return backup.read().then(
    (snapshot) => ({ snapshot }),
    (error: unknown) => ({ error: error instanceof Error ? error : new Error(String(error)) }),
  );
}

/** File-name-safe tenant name. */
export const fileSlug = (name: string): string =>
  name.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 100) || "tenant";

/** Every file is written complete or not at all; mailbox names are personal data, so owner-only. */
async function writeReportFiles(
  outDir: string,
  formats: ReportFormat[],
  summary: CombinedSummary,
  reports: TenantReport[],
  generatedAt: string,
): Promise<{ files: string[]; removed: string[] }> {
  const files: string[] = [];
  const removed: string[] = [];
  /** A file of the set this run has nothing for: an earlier run's copy must not stay beside the new ones. */
  const remove = async (name: string) => {
    const path = join(outDir, name);
    try {
      await rm(path);
      removed.push(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  };
  const write = async (name: string, content: string | Iterable<string>) => {
    const path = join(outDir, name);
    await writeFileAtomic(path, content, { mode: 0o600 });
    files.push(path);
  };
  for (const report of reports) {
    const base = `usage-${fileSlug(report.tenant)}`;
    if (formats.includes("json")) await write(`${base}.json`, tenantJsonChunks(report, generatedAt));
    if (formats.includes("csv")) {
      await write(
        `${base}.csv`,
        mailboxCsvChunks(report.tenant, report.mailboxes, { backup: report.vb365 !== undefined }),
      );
      if (report.failures.length > 0) {
        await write(
          `${base}-errors.csv`,
          renderFailureCsv(report.failures.map((f) => ({ tenant: report.tenant, ...f }))),
        );
      } else {
        await remove(`${base}-errors.csv`);
      }
    }
    if (formats.includes("html")) await write(`${base}.html`, renderTenantHtml(report, generatedAt));
  }
  if (reports.length > 1) {
    if (formats.includes("json"))
      await write("usage-all.json", renderCombinedJson(summary, reports, generatedAt));
    if (formats.includes("html"))
      await write("usage-all.html", renderCombinedHtml(summary, reports, generatedAt));
  }
  return { files, removed };
}
