/**
 * Collect one tenant's numbers: three listings (recipients, mailboxes, inactive mailboxes), then one
 * Get-MailboxStatistics per mailbox and a second one (-Archive) only for mailboxes with an archive,
 * fanned out under an adaptive concurrency window.
 *
 * A mailbox whose statistics fail after the client's retries is reported as a failure, never dropped
 * silently; authentication and authorization failures stop the tenant (every call would fail alike).
 */
import {
  AuthenticationError,
  AuthorizationError,
  ExoCbaError,
  PartialResultError,
  TransientError,
} from "../errors.js";
import { CircuitOpenError } from "../http/circuit-breaker.js";
import { CLASSIC_PLAN, type CmdletCall, type CmdletPlan, EXO_PLAN, isUnsupportedCmdlet } from "./cmdlets.js";
import type { AimdLimiter, LimiterTicket, Semaphore } from "./limiter.js";
import {
  categoryOf,
  listingFromMailboxRow,
  type StatisticsNumbers,
  statisticsFromRow,
} from "./mailbox-fields.js";
import type { ThrottleSignal } from "./throttle-signal.js";
import type { MailboxFailure, MailboxListing, MailboxUsage, TenantCounts, UsageSource } from "./types.js";

export interface CollectProgress {
  phase: "listing" | "statistics" | "done";
  listed: number;
  /** mailboxes finished (including those taken from a resumed run) */
  done: number;
  failed: number;
  /** mailboxes to process; known once listing is over */
  total: number | null;
  /** current concurrency window */
  window: number;
}

export interface CollectOptions {
  limiter: AimdLimiter;
  /** the connection's retry notices (429s the client retried), attributed to our calls */
  throttle?: ThrottleSignal;
  /** cap shared with other tenants of the same run */
  globalSlots?: Semaphore;
  /** results of an unfinished earlier run (`--resume`): these mailboxes are not fetched again */
  completed?: { get(guid: string): MailboxUsage | undefined };
  onMailboxDone?: (usage: MailboxUsage) => void;
  /** a mailbox taken from `completed`, with the current listing's names (to store them again) */
  onMailboxReused?: (usage: MailboxUsage) => void;
  /**
   * false: hand each row to `onMailboxDone`/`onMailboxReused` and keep none (`mailboxes` is then empty;
   * `measured` says which were measured, in listing order) — how the report keeps 100,000 mailboxes out
   * of memory (docs/report.md "Memory"). Default true.
   */
  retainRows?: boolean;
  /** where the mailbox listing is kept while the statistics run (default: an array in memory) */
  listingStore?: ListingStore;
  onMailboxFailed?: (failure: MailboxFailure) => void;
  onProgress?: (progress: CollectProgress) => void;
  /** cmdlets to start with (default: the cheap Get-EXO* set, falling back to the classic ones) */
  plan?: CmdletPlan;
  /** stop issuing new calls (Ctrl-C); what is done so far is kept */
  signal?: AbortSignal;
}

export interface TenantCollection {
  counts: TenantCounts;
  /** in Get-Mailbox order (empty with `retainRows: false`) */
  mailboxes: MailboxUsage[];
  /** guids of the measured mailboxes, in Get-Mailbox order */
  measured: string[];
  failures: MailboxFailure[];
  /** the inactive-mailbox listing was refused (e.g. missing permission): counted as unknown */
  warnings: string[];
  calls: { statistics: number; archiveStatistics: number; reused: number };
  /**
   * Mailboxes measured in this run whose statistics came back as no object (Exchange's "hasn't logged on
   * to mailbox … no data to return" warning): never logged on, counted with 0 bytes and 0 items.
   */
  neverLoggedOn: number;
  /** the cmdlet set that answered */
  plan: CmdletPlan["name"];
  /**
   * Why the tenant's numbers cannot be trusted as complete although no mailbox failed (e.g. no mailbox
   * listed in a tenant that has recipients); the run is then recorded as partial, never as complete.
   */
  incomplete?: string;
}

/**
 * The mailbox listing, in Get-Mailbox order, between the listing and the end of the statistics: an
 * array by default; the report keeps it in the history instead so 100,000 entries are not on the heap
 * (docs/report.md "Memory"). Read in chunks, each read complete before the next await.
 */
export interface ListingStore {
  add(entry: MailboxListing): void;
  readonly length: number;
  /** up to `count` entries from index `start` */
  read(start: number, count: number): MailboxListing[];
}

export function arrayListing(): ListingStore {
  const entries: MailboxListing[] = [];
  return {
    add: (entry) => {
      entries.push(entry);
    },
    get length() {
      return entries.length;
    },
    read: (start, count) => entries.slice(start, start + count),
  };
}

const LISTING_CHUNK = 1000;

/** [index, entry] pairs in listing order. */
function* listed(store: ListingStore): Generator<[number, MailboxListing]> {
  for (let start = 0; start < store.length; start += LISTING_CHUNK) {
    const chunk = store.read(start, LISTING_CHUNK);
    for (let j = 0; j < chunk.length; j++) yield [start + j, chunk[j]!];
  }
}

/** Exchange answered, but not with something we can count: a per-mailbox error, not a zero. */
class MalformedStatisticsError extends Error {}

export async function collectTenantUsage(
  source: UsageSource,
  options: CollectOptions,
): Promise<TenantCollection> {
  return new TenantCollector(source, options).run();
}

/**
 * One tenant's collection, phase by phase: the three listings, the mailboxes reused from a resumed run,
 * the statistics fan-out with its second pass, and what an interruption leaves unfetched. The state the
 * phases share (the cmdlet plan, progress, failures, the tasks in flight) lives on the instance.
 */
class TenantCollector {
  private readonly limiter: AimdLimiter;
  /** Ctrl-C aborts the calls in flight too (their retry waits included), not only the ones not yet made. */
  private readonly callOptions: { signal?: AbortSignal };
  private readonly warnings: string[] = [];
  private readonly calls = { statistics: 0, archiveStatistics: 0, reused: 0 };
  private neverLoggedOn = 0;
  private plan: CmdletPlan;
  private readonly progress: CollectProgress;
  private readonly listing: ListingStore;
  private readonly byType: Record<string, number> = {};
  private archives = 0;
  private skippedRows = 0;
  private readonly retain: boolean;
  private results: Array<MailboxUsage | undefined> = [];
  /** 1 = measured (this run or reused), by listing index */
  private measuredAt = new Uint8Array(0);
  private readonly failures: MailboxFailure[] = [];
  private fatal: unknown;
  private readonly inFlight = new Set<Promise<void>>();
  /** Transient failures of the first pass, tried once more at the end (when throttling has eased). */
  private readonly secondPass: Array<{ entry: MailboxListing; index: number }> = [];
  /**
   * Calls waiting out a Retry-After or backoff before their retry: they hold no slot (see withSlot), so
   * the fan-out may start other mailboxes meanwhile; `nextSuspend` wakes it when one starts waiting.
   */
  private suspended = 0;
  private wakeOnSuspend: (() => void) | undefined;

  constructor(
    private readonly source: UsageSource,
    private readonly options: CollectOptions,
  ) {
    this.limiter = options.limiter;
    this.callOptions = options.signal ? { signal: options.signal } : {};
    this.plan = options.plan ?? EXO_PLAN;
    this.listing = options.listingStore ?? arrayListing();
    this.retain = options.retainRows !== false;
    this.progress = {
      phase: "listing",
      listed: 0,
      done: 0,
      failed: 0,
      total: null,
      window: this.limiter.limit,
    };
  }

  async run(): Promise<TenantCollection> {
    const [recipientCount, inactiveCount] = await this.listAll();
    if (this.skippedRows > 0) {
      this.warnings.push(
        `${this.skippedRows} mailbox row(s) without ExchangeGuid/Guid were skipped (not counted).`,
      );
    }
    // Every mailbox is a recipient: none listed while recipients exist means the listing went wrong.
    let incomplete: string | undefined;
    if (this.listing.length === 0 && recipientCount > 0) {
      incomplete = `the mailbox listing returned no mailbox although the tenant has ${recipientCount} recipient(s)`;
      this.warnings.push(`${incomplete}; the run is not recorded as complete.`);
    }
    this.progress.phase = "statistics";
    this.progress.total = this.listing.length;
    this.results = this.retain ? new Array(this.listing.length) : [];
    this.measuredAt = new Uint8Array(this.listing.length);
    this.reuseCompleted();
    // Reported after the reused ones are counted, so the ETA only measures work done now.
    this.report();
    await this.fanOut();
    if (this.fatal) throw this.fatal;
    if (this.options.signal?.aborted) this.listNotFetched();
    if (this.neverLoggedOn > 0) {
      this.warnings.push(
        `${this.neverLoggedOn} mailbox(es) were never logged on: Exchange returned no statistics for them (only a warning), so they count with 0 bytes and 0 items.`,
      );
    }
    this.progress.phase = "done";
    this.report();
    const measured: string[] = [];
    for (const [i, entry] of listed(this.listing)) if (this.measuredAt[i]) measured.push(entry.guid);
    return {
      counts: {
        recipients: recipientCount,
        mailboxes: this.listing.length,
        mailboxesByType: this.byType,
        inactiveMailboxes: inactiveCount,
        archives: this.archives,
      },
      mailboxes: this.results.filter((r): r is MailboxUsage => r !== undefined),
      measured,
      failures: this.failures,
      warnings: this.warnings,
      calls: this.calls,
      neverLoggedOn: this.neverLoggedOn,
      plan: this.plan.name,
      ...(incomplete ? { incomplete } : {}),
    };
  }

  private report(): void {
    this.progress.window = this.limiter.limit;
    this.options.onProgress?.({ ...this.progress });
  }

  /**
   * Run a call of the current plan; if the service does not know the Get-EXO* cmdlet (and nothing was
   * received yet), switch this tenant to the classic cmdlets and run it again.
   */
  private async planned<T>(
    pick: (p: CmdletPlan) => CmdletCall,
    run: (call: CmdletCall, received: () => void) => Promise<T>,
  ): Promise<T> {
    const used = this.plan;
    let gotRows = false;
    try {
      return await run(pick(used), () => {
        gotRows = true;
      });
    } catch (error) {
      if (used === CLASSIC_PLAN || gotRows || !isUnsupportedCmdlet(error)) throw error;
      if (this.plan === used) {
        this.plan = CLASSIC_PLAN;
        this.warnings.push(
          `The service does not run ${pick(used).cmdlet}; the classic cmdlets were used instead.`,
        );
      }
      return run(pick(CLASSIC_PLAN), () => {});
    }
  }

  /** Run one call under the tenant window and the global cap; 429s seen by the client cut the window. */
  private async withSlot<T>(fn: () => Promise<T>): Promise<T> {
    const { limiter, options } = this;
    const ticket: LimiterTicket = await limiter.acquire();
    let releaseGlobal = options.globalSlots ? await options.globalSlots.acquire() : undefined;
    let ok = false;
    try {
      const hooks = {
        onThrottle: (delayMs?: number) => limiter.congestion(ticket, delayMs),
        // While the client waits before a retry, this call is not in flight: its slots serve others.
        suspend: () => {
          releaseGlobal?.();
          releaseGlobal = undefined;
          limiter.suspend(ticket);
          this.suspended++;
          this.wakeOnSuspend?.();
          this.wakeOnSuspend = undefined;
        },
        resume: async () => {
          try {
            await limiter.resume(ticket);
            if (options.globalSlots) releaseGlobal = await options.globalSlots.acquire();
          } finally {
            this.suspended--;
          }
        },
      };
      const result = await (options.throttle ? options.throttle.run(hooks, fn) : fn());
      ok = true;
      return result;
    } catch (error) {
      if (error instanceof ExoCbaError && error.httpStatus === 429) limiter.congestion(ticket);
      throw error;
    } finally {
      releaseGlobal?.();
      limiter.release(ticket, ok);
    }
  }

  private nextSuspend(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wakeOnSuspend = resolve;
    });
  }

  /** The three listings, side by side: [recipients, inactive mailboxes or null]; the mailboxes go to `listing`. */
  private async listAll(): Promise<[number, number | null]> {
    const { options } = this;
    const recipients = this.countRows((p) => p.recipients());
    const inactive = this.countRows((p) => p.inactiveMailboxes()).catch((error: unknown) => {
      // "Where visible": a role that may not list inactive mailboxes still gets the rest of the report.
      if (error instanceof AuthenticationError || error instanceof CircuitOpenError) throw error;
      if (options.signal?.aborted) throw error;
      this.warnings.push(
        `Inactive mailboxes could not be listed (${describe(error)}); their count is shown as unknown.`,
      );
      return null;
    });
    const [recipientCount, inactiveCount] = await Promise.all([
      recipients,
      inactive,
      this.listMailboxes(),
    ]).catch((error: unknown) => {
      if (!options.signal?.aborted || isFatal(error)) throw error;
      throw new PartialResultError("Interrupted while listing the mailboxes; nothing was measured yet.", {
        hint: "Run the command again.",
      });
    });
    return [recipientCount, inactiveCount];
  }

  private countRows(pick: (p: CmdletPlan) => CmdletCall): Promise<number> {
    return this.withSlot(() =>
      this.planned(pick, async ({ cmdlet, params }, received) => {
        let n = 0;
        for await (const _ of this.source.stream(cmdlet, params, this.callOptions)) {
          received();
          n++;
        }
        return n;
      }),
    );
  }

  private listMailboxes(): Promise<void> {
    return this.withSlot(() =>
      this.planned(
        (p) => p.mailboxes(),
        async ({ cmdlet, params }, received) => {
          for await (const row of this.source.stream(cmdlet, params, this.callOptions)) {
            received();
            const entry = listingFromMailboxRow(row);
            if (!entry) {
              this.skippedRows++;
              continue;
            }
            this.listing.add(entry);
            this.byType[entry.recipientTypeDetails] = (this.byType[entry.recipientTypeDetails] ?? 0) + 1;
            if (entry.hasArchive) this.archives++;
            this.progress.listed++;
            if (this.progress.listed % 1000 === 0) this.report();
          }
        },
      ),
    );
  }

  /** `--resume`: the mailboxes an earlier run measured keep their numbers, with the current listing's names. */
  private reuseCompleted(): void {
    const completed = this.options.completed;
    if (!completed) return;
    for (const [i, entry] of listed(this.listing)) {
      const earlier = completed.get(entry.guid);
      if (!earlier) continue;
      // Keep the stored numbers but the current listing's names (renames between runs).
      const { smtp: _stored, ...numbers } = earlier;
      const usage: MailboxUsage = { ...numbers, identity: entry.identity, displayName: entry.displayName };
      if (entry.smtp) usage.smtp = entry.smtp;
      if (this.retain) this.results[i] = usage;
      this.measuredAt[i] = 1;
      this.options.onMailboxReused?.(usage);
      this.calls.reused++;
      this.progress.done++;
    }
  }

  /** Every mailbox not measured yet, under the window; then one more bounded attempt for the transient failures. */
  private async fanOut(): Promise<void> {
    const { options } = this;
    for (const [i, entry] of listed(this.listing)) {
      if (this.fatal || options.signal?.aborted) break;
      if (this.measuredAt[i]) continue;
      await this.waitForRoom();
      this.start(entry, i, false);
    }
    await Promise.all(this.inFlight);
    // One more bounded attempt for mailboxes whose retries ran out during a burst of throttling or
    // faults: a run of 10,000 should not end partial because one call met six 429s in a row.
    for (const { entry, index } of this.secondPass) {
      if (this.fatal || options.signal?.aborted) break;
      await this.waitForRoom();
      this.start(entry, index, true);
    }
    await Promise.all(this.inFlight);
  }

  private start(entry: MailboxListing, index: number, lastChance: boolean): void {
    const task = this.fetchOne(entry, index, lastChance).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  /**
   * Room for one more mailbox task: fewer working tasks than the window (tasks waiting before a retry do
   * not count), and never more than MAX_TASKS in all, so 100,000 mailboxes never become 100,000 pending
   * promises. The bound leaves room for the waiting ones: at 500 calls/s with 5 % faults waiting about a
   * second each, some 25 tasks wait at any time, and a bound of a few windows (32 at concurrency 8)
   * starved the working ones (measured: 2,500 mailboxes 40 % slower before the tail).
   */
  private hasRoom(): boolean {
    const window = Math.max(1, Math.floor(this.limiter.limit));
    return (
      this.inFlight.size - this.suspended < window && this.inFlight.size < Math.max(MAX_TASKS, 4 * window)
    );
  }

  private async waitForRoom(): Promise<void> {
    while (!this.hasRoom() && !this.fatal) await Promise.race([...this.inFlight, this.nextSuspend()]);
  }

  private async fetchOne(entry: MailboxListing, index: number, lastChance: boolean): Promise<void> {
    const { options } = this;
    let stage: MailboxFailure["stage"] = "primary";
    try {
      const primary = await this.withSlot(() =>
        this.planned(
          (p) => p.statistics(entry.guid),
          (call) => readStatistics(this.source, call, this.callOptions),
        ).finally(() => this.calls.statistics++),
      );
      if (primary.noObject) this.neverLoggedOn++;
      let archive: StatisticsNumbers | undefined;
      if (entry.hasArchive && !this.fatal) {
        stage = "archive";
        archive = await this.withSlot(() =>
          this.planned(
            (p) => p.archiveStatistics(entry.guid),
            (call) => readStatistics(this.source, call, this.callOptions),
          ).finally(() => this.calls.archiveStatistics++),
        );
      }
      const usage = toUsage(entry, primary, archive);
      if (this.retain) this.results[index] = usage;
      this.measuredAt[index] = 1;
      this.progress.done++;
      options.onMailboxDone?.(usage);
    } catch (error) {
      if (isFatal(error)) {
        this.fatal ??= error;
        return;
      }
      // Interrupted: not a failure of this mailbox; it is listed as "not fetched" below.
      if (options.signal?.aborted) return;
      if (!lastChance && error instanceof TransientError) {
        this.secondPass.push({ entry, index });
        return;
      }
      const failure: MailboxFailure = {
        guid: entry.guid,
        identity: entry.identity,
        stage,
        error: describe(error),
        errorType: error instanceof Error ? error.name : "Error",
      };
      this.failures.push(failure);
      this.progress.failed++;
      options.onMailboxFailed?.(failure);
    }
    this.report();
  }

  /** Interrupted: the mailboxes never attempted are failures too, so the run is partial and --resume picks them up. */
  private listNotFetched(): void {
    const failed = new Set(this.failures.map((f) => f.guid));
    for (const [i, entry] of listed(this.listing)) {
      if (this.measuredAt[i] || failed.has(entry.guid)) continue;
      this.failures.push({
        guid: entry.guid,
        identity: entry.identity,
        stage: "primary",
        error: "not fetched: the run was interrupted",
        errorType: "Interrupted",
      });
    }
  }
}

async function readStatistics(
  source: UsageSource,
  call: CmdletCall,
  options: { signal?: AbortSignal },
): Promise<StatisticsNumbers & { noObject?: true }> {
  const rows = await source.invoke(call.cmdlet, call.params, options);
  const row = rows[0];
  if (!row) {
    // Exchange returns no object, only the warning "The user hasn't logged on to mailbox … so there is no
    // data to return", for a mailbox nobody ever signed in to: it holds nothing — 0, not an error
    // (docs/report.md).
    return { bytes: 0, items: 0, deletedBytes: 0, deletedItems: 0, lastLogonTime: null, noObject: true };
  }
  const numbers = statisticsFromRow(row);
  if (!numbers) throw new MalformedStatisticsError("the statistics row has no TotalItemSize/ItemCount");
  return numbers;
}

function toUsage(
  entry: MailboxListing,
  primary: StatisticsNumbers,
  archive: StatisticsNumbers | undefined,
): MailboxUsage {
  const usage: MailboxUsage = {
    guid: entry.guid,
    identity: entry.identity,
    displayName: entry.displayName,
    recipientTypeDetails: entry.recipientTypeDetails,
    category: categoryOf(entry.recipientTypeDetails),
    primaryBytes: primary.bytes,
    primaryItems: primary.items,
    deletedBytes: primary.deletedBytes,
    deletedItems: primary.deletedItems,
    hasArchive: archive !== undefined,
    archiveBytes: archive?.bytes ?? null,
    archiveItems: archive?.items ?? null,
    archiveDeletedBytes: archive?.deletedBytes ?? null,
    archiveDeletedItems: archive?.deletedItems ?? null,
    lastLogonTime: primary.lastLogonTime,
  };
  if (entry.smtp) usage.smtp = entry.smtp;
  return usage;
}

/** Mailbox tasks started and not finished, working or waiting before a retry (see hasRoom). */
const MAX_TASKS = 256;

/**
 * Failures that would hit every mailbox alike: stop instead of listing thousands of identical errors.
 * An open circuit breaker (the endpoint is unreachable) stops the run; what was measured stays resumable.
 */
function isFatal(error: unknown): boolean {
  return (
    error instanceof AuthenticationError ||
    error instanceof AuthorizationError ||
    error instanceof CircuitOpenError
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
