/**
 * Run history in SQLite (`homePaths(home).history`): every run's totals, and its per-mailbox numbers
 * so growth can be shown over time and an interrupted run can be resumed (`--resume`) without
 * fetching again what it already has.
 *
 * Per-mailbox rows are written in batches while the run goes (a crash keeps what was fetched); the
 * run's totals and final status are written in one transaction at its end, so a run is either
 * "complete" with consistent totals or visibly unfinished. WAL keeps readers (another report) from
 * blocking the writer. The schema is versioned with `PRAGMA user_version`.
 */
import { randomUUID } from "node:crypto";
import { chmod, open } from "node:fs/promises";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { UsageError } from "../errors.js";
import { ensurePrivateDir } from "../util/fs.js";
import type { HistoryPoint, UsageTotals } from "./aggregate.js";
import type { ListingStore } from "./collect.js";
import type { MailboxCategory, MailboxListing, MailboxUsage, TenantCounts } from "./types.js";

export const SCHEMA_VERSION = 3;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE runs (
      id TEXT PRIMARY KEY,
      tenant TEXT NOT NULL,
      started_at TEXT NOT NULL,
      finished_at TEXT,
      status TEXT NOT NULL CHECK (status IN ('running', 'partial', 'complete')),
      recipients INTEGER,
      mailboxes INTEGER,
      inactive_mailboxes INTEGER,
      archives INTEGER,
      mailboxes_measured INTEGER,
      primary_bytes INTEGER,
      deleted_bytes INTEGER,
      archive_bytes INTEGER,
      archive_deleted_bytes INTEGER,
      total_protected_bytes INTEGER,
      failures INTEGER
    );
    CREATE INDEX runs_by_tenant ON runs (tenant, started_at);
    CREATE TABLE mailbox_usage (
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      guid TEXT NOT NULL,
      identity TEXT NOT NULL,
      display_name TEXT NOT NULL,
      recipient_type_details TEXT NOT NULL,
      category TEXT NOT NULL,
      primary_bytes INTEGER NOT NULL,
      primary_items INTEGER NOT NULL,
      deleted_bytes INTEGER NOT NULL,
      deleted_items INTEGER NOT NULL,
      archive_bytes INTEGER,
      archive_items INTEGER,
      archive_deleted_bytes INTEGER,
      archive_deleted_items INTEGER,
      last_logon_time TEXT,
      PRIMARY KEY (run_id, guid)
    ) WITHOUT ROWID;
  `,
  // The backup side of a run (docs/report.md "Backup coverage"): stored bytes vs protected mailbox bytes.
  2: `
    CREATE TABLE backup_runs (
      run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
      server TEXT NOT NULL,
      organization_id TEXT NOT NULL,
      repositories TEXT NOT NULL,
      read_at TEXT NOT NULL,
      protected_mailboxes INTEGER NOT NULL,
      protected_archives INTEGER NOT NULL,
      protected_exchange_bytes INTEGER NOT NULL,
      all_mailboxes_bytes INTEGER NOT NULL,
      used_space_bytes INTEGER NOT NULL,
      local_cache_bytes INTEGER NOT NULL,
      object_storage_bytes INTEGER NOT NULL,
      stored_bytes INTEGER NOT NULL,
      licensed_users INTEGER
    ) WITHOUT ROWID;
  `,
  // The report's files are written from these rows (docs/report.md "Memory"): they keep the primary SMTP
  // address too when it differs from the identity (the JSON row's `smtp`, the backup join's second key).
  // ... and the run's mailbox listing while its statistics are read (ListingStore), in Get-Mailbox order.
  3: `
    ALTER TABLE mailbox_usage ADD COLUMN smtp TEXT;
    CREATE TABLE mailbox_listing (
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      ordinal INTEGER NOT NULL,
      guid TEXT NOT NULL,
      identity TEXT NOT NULL,
      display_name TEXT NOT NULL,
      recipient_type_details TEXT NOT NULL,
      has_archive INTEGER NOT NULL,
      smtp TEXT,
      PRIMARY KEY (run_id, ordinal)
    ) WITHOUT ROWID;
  `,
};

/** What the history keeps of a run's backup side. */
export interface BackupRecord {
  server: string;
  organizationId: string;
  /** repository ids, sorted, comma separated: growth compares runs over the same repositories only */
  repositories: string;
  readAt: string;
  protectedMailboxes: number;
  protectedArchives: number;
  protectedExchangeBytes: number;
  allMailboxesBytes: number;
  usedSpaceBytes: number;
  localCacheBytes: number;
  objectStorageBytes: number;
  storedBytes: number;
  licensedUsers: number | null;
}

export interface StoredRun {
  id: string;
  tenant: string;
  startedAt: string;
  finishedAt: string | null;
  status: "running" | "partial" | "complete";
}

export interface FinishRun {
  status: "partial" | "complete";
  finishedAt: string;
  counts: TenantCounts;
  totals: UsageTotals;
  failures: number;
}

interface MailboxRow {
  guid: string;
  identity: string;
  display_name: string;
  recipient_type_details: string;
  category: string;
  primary_bytes: number;
  primary_items: number;
  deleted_bytes: number;
  deleted_items: number;
  archive_bytes: number | null;
  archive_items: number | null;
  archive_deleted_bytes: number | null;
  archive_deleted_items: number | null;
  last_logon_time: string | null;
  smtp: string | null;
}

/** A stored row as the collector made it: same keys, same order (the JSON files print them as they are). */
function usageOf(r: MailboxRow): MailboxUsage {
  const usage: MailboxUsage = {
    guid: r.guid,
    identity: r.identity,
    displayName: r.display_name,
    recipientTypeDetails: r.recipient_type_details,
    category: r.category as MailboxCategory,
    primaryBytes: r.primary_bytes,
    primaryItems: r.primary_items,
    deletedBytes: r.deleted_bytes,
    deletedItems: r.deleted_items,
    hasArchive: r.archive_bytes !== null,
    archiveBytes: r.archive_bytes,
    archiveItems: r.archive_items,
    archiveDeletedBytes: r.archive_deleted_bytes,
    archiveDeletedItems: r.archive_deleted_items,
    lastLogonTime: r.last_logon_time,
  };
  if (r.smtp !== null) usage.smtp = r.smtp;
  return usage;
}

/**
 * A run's measured mailboxes, read from the history in the order given (the listing's), one row at a
 * time: iterable any number of times while the history is open, so the aggregates, the backup join and
 * each file are separate passes that never hold more than one row.
 */
export interface MailboxRows extends Iterable<MailboxUsage> {
  /** how many mailboxes were measured */
  readonly length: number;
}

/** Rows buffered before one insert transaction: large enough to be cheap, small enough to lose little. */
const BATCH = 500;
/** Rows read back per statement (SQLite allows 32,766 parameters). */
const READ_CHUNK = 500;

export class UsageHistory {
  private readonly db: Database.Database;
  private readonly pending = new Map<string, MailboxUsage[]>();
  private readonly insertMailbox: Database.Statement;

  private constructor(db: Database.Database) {
    this.db = db;
    this.insertMailbox = db.prepare(`
      INSERT OR REPLACE INTO mailbox_usage VALUES (
        @run_id, @guid, @identity, @display_name, @recipient_type_details, @category,
        @primary_bytes, @primary_items, @deleted_bytes, @deleted_items,
        @archive_bytes, @archive_items, @archive_deleted_bytes, @archive_deleted_items, @last_logon_time,
        @smtp)`);
  }

  static async open(path: string): Promise<UsageHistory> {
    await ensurePrivateDir(dirname(path));
    // It holds UPNs and display names: owner-only from its first byte (SQLite gives its -wal and -shm
    // files the database's mode), and tightened if an older version created it 0644.
    await (await open(path, "a", 0o600)).close();
    if (process.platform !== "win32") await chmod(path, 0o600);
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    migrate(db);
    return new UsageHistory(db);
  }

  startRun(tenant: string, startedAt: string): StoredRun {
    const run: StoredRun = { id: randomUUID(), tenant, startedAt, finishedAt: null, status: "running" };
    this.db
      .prepare("INSERT INTO runs (id, tenant, started_at, status) VALUES (?, ?, ?, 'running')")
      .run(run.id, tenant, startedAt);
    return run;
  }

  /** The newest run of the tenant that did not complete (the one `--resume` continues). */
  findUnfinishedRun(tenant: string): StoredRun | undefined {
    const row = this.db
      .prepare(
        `SELECT id, tenant, started_at, finished_at, status FROM runs
         WHERE tenant = ? ORDER BY started_at DESC, rowid DESC LIMIT 1`,
      )
      .get(tenant) as
      | {
          id: string;
          tenant: string;
          started_at: string;
          finished_at: string | null;
          status: StoredRun["status"];
        }
      | undefined;
    if (!row || row.status === "complete") return undefined;
    return {
      id: row.id,
      tenant: row.tenant,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      status: row.status,
    };
  }

  /** Mark a resumed run as running again. */
  reopenRun(runId: string): void {
    this.db.prepare("UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ?").run(runId);
  }

  loadMailboxes(runId: string): Map<string, MailboxUsage> {
    this.flush(runId);
    const out = new Map<string, MailboxUsage>();
    const rows = this.db.prepare("SELECT * FROM mailbox_usage WHERE run_id = ?").iterate(runId);
    for (const r of rows as Iterable<MailboxRow>) out.set(r.guid, usageOf(r));
    return out;
  }

  /**
   * The run's mailbox listing kept here instead of in memory (docs/report.md "Memory"): written in
   * batches, read back in chunks by position. A new listing of the run (a resume) replaces the old one;
   * `dropListing` removes it once the statistics are read.
   */
  listingStore(runId: string): ListingStore {
    this.db.prepare("DELETE FROM mailbox_listing WHERE run_id = ?").run(runId);
    const insert = this.db.prepare(
      "INSERT INTO mailbox_listing VALUES (@run_id, @ordinal, @guid, @identity, @display_name, @type, @has_archive, @smtp)",
    );
    const select = this.db.prepare(
      `SELECT guid, identity, display_name, recipient_type_details, has_archive, smtp FROM mailbox_listing
       WHERE run_id = ? AND ordinal >= ? ORDER BY ordinal LIMIT ?`,
    );
    let length = 0;
    let pending: MailboxListing[] = [];
    const flush = this.db.transaction((rows: MailboxListing[], first: number) => {
      for (let i = 0; i < rows.length; i++) {
        const e = rows[i]!;
        insert.run({
          run_id: runId,
          ordinal: first + i,
          guid: e.guid,
          identity: e.identity,
          display_name: e.displayName,
          type: e.recipientTypeDetails,
          has_archive: e.hasArchive ? 1 : 0,
          smtp: e.smtp ?? null,
        });
      }
    });
    const write = () => {
      if (pending.length === 0) return;
      flush(pending, length - pending.length);
      pending = [];
    };
    return {
      add(entry) {
        pending.push(entry);
        length++;
        if (pending.length >= BATCH) write();
      },
      get length() {
        return length;
      },
      read(start, count) {
        write();
        const rows = select.all(runId, start, count) as Array<{
          guid: string;
          identity: string;
          display_name: string;
          recipient_type_details: string;
          has_archive: number;
          smtp: string | null;
        }>;
        return rows.map((r) => {
          const entry: MailboxListing = {
            guid: r.guid,
            identity: r.identity,
            displayName: r.display_name,
            recipientTypeDetails: r.recipient_type_details,
            hasArchive: r.has_archive === 1,
          };
          if (r.smtp !== null) entry.smtp = r.smtp;
          return entry;
        });
      },
    };
  }

  /** Remove a run's listing (its statistics are read; the order of the measured ones is kept by the caller). */
  dropListing(runId: string): void {
    this.db.prepare("DELETE FROM mailbox_listing WHERE run_id = ?").run(runId);
  }

  /** One stored mailbox of a run by guid (what `--resume` reuses), read when asked, never all at once. */
  mailboxLookup(runId: string): { get(guid: string): MailboxUsage | undefined } {
    this.flush(runId);
    const select = this.db.prepare("SELECT * FROM mailbox_usage WHERE run_id = ? AND guid = ?");
    return {
      get: (guid) => {
        const r = select.get(runId, guid) as MailboxRow | undefined;
        return r ? usageOf(r) : undefined;
      },
    };
  }

  /**
   * The run's rows for these guids, in this order, read one at a time; `annotate` may add fields to each
   * row before it is handed out (the backup join's Protected/LastBackup). A guid without a row is skipped.
   */
  mailboxRows(runId: string, guids: readonly string[], annotate?: (m: MailboxUsage) => void): MailboxRows {
    this.flush(runId);
    // One statement per chunk of guids: a statement per row pays SQLite's read-lock round per row.
    const statements = new Map<number, Database.Statement>();
    const selectChunk = (chunk: readonly string[]) => {
      let statement = statements.get(chunk.length);
      if (!statement) {
        statement = this.db.prepare(
          `SELECT * FROM mailbox_usage WHERE run_id = ? AND guid IN (${chunk.map(() => "?").join(",")})`,
        );
        statements.set(chunk.length, statement);
      }
      return statement.all(runId, ...chunk) as MailboxRow[];
    };
    return {
      length: guids.length,
      *[Symbol.iterator]() {
        for (let start = 0; start < guids.length; start += READ_CHUNK) {
          const chunk = guids.slice(start, start + READ_CHUNK);
          const byGuid = new Map(selectChunk(chunk).map((r) => [r.guid, r]));
          for (const guid of chunk) {
            const r = byGuid.get(guid);
            if (!r) continue;
            const usage = usageOf(r);
            annotate?.(usage);
            yield usage;
          }
        }
      },
    };
  }

  /** Buffer one mailbox's numbers; written in batches. */
  recordMailbox(runId: string, usage: MailboxUsage): void {
    let buffer = this.pending.get(runId);
    if (!buffer) {
      buffer = [];
      this.pending.set(runId, buffer);
    }
    buffer.push(usage);
    if (buffer.length >= BATCH) this.flush(runId);
  }

  flush(runId: string): void {
    const buffer = this.pending.get(runId);
    if (!buffer || buffer.length === 0) return;
    this.pending.set(runId, []);
    const insert = this.db.transaction((rows: MailboxUsage[]) => {
      for (const m of rows) {
        this.insertMailbox.run({
          run_id: runId,
          guid: m.guid,
          identity: m.identity,
          display_name: m.displayName,
          recipient_type_details: m.recipientTypeDetails,
          category: m.category,
          primary_bytes: m.primaryBytes,
          primary_items: m.primaryItems,
          deleted_bytes: m.deletedBytes,
          deleted_items: m.deletedItems,
          archive_bytes: m.archiveBytes,
          archive_items: m.archiveItems,
          archive_deleted_bytes: m.archiveDeletedBytes,
          archive_deleted_items: m.archiveDeletedItems,
          last_logon_time: m.lastLogonTime,
          smtp: m.smtp ?? null,
        });
      }
    });
    insert(buffer);
  }

  /** Totals and final status in one transaction, after the last mailbox rows. */
  finishRun(runId: string, finish: FinishRun): void {
    this.db.transaction(() => {
      this.flush(runId);
      this.db
        .prepare(
          `UPDATE runs SET finished_at = @finished_at, status = @status, recipients = @recipients,
             mailboxes = @mailboxes, inactive_mailboxes = @inactive, archives = @archives,
             mailboxes_measured = @measured, primary_bytes = @primary, deleted_bytes = @deleted,
             archive_bytes = @archive, archive_deleted_bytes = @archive_deleted,
             total_protected_bytes = @total, failures = @failures
           WHERE id = @id`,
        )
        .run({
          id: runId,
          finished_at: finish.finishedAt,
          status: finish.status,
          recipients: finish.counts.recipients,
          mailboxes: finish.counts.mailboxes,
          inactive: finish.counts.inactiveMailboxes,
          archives: finish.counts.archives,
          measured: finish.totals.mailboxesMeasured,
          primary: finish.totals.primaryBytes,
          deleted: finish.totals.deletedBytes,
          archive: finish.totals.archiveBytes,
          archive_deleted: finish.totals.archiveDeletedBytes,
          total: finish.totals.totalProtectedBytes,
          failures: finish.failures,
        });
    })();
  }

  /** Record a finished run as complete: called once its report files are written. */
  markComplete(runId: string): void {
    this.db.prepare("UPDATE runs SET status = 'complete' WHERE id = ?").run(runId);
  }

  /** Completed runs of a tenant, oldest first: the points of the growth trend. */
  completedPoints(tenant: string): HistoryPoint[] {
    const rows = this.db
      .prepare(
        `SELECT id, finished_at, total_protected_bytes, mailboxes FROM runs
         WHERE tenant = ? AND status = 'complete' ORDER BY finished_at`,
      )
      .all(tenant) as Array<{
      id: string;
      finished_at: string;
      total_protected_bytes: number;
      mailboxes: number;
    }>;
    return rows.map((r) => ({
      runId: r.id,
      at: r.finished_at,
      totalProtectedBytes: r.total_protected_bytes,
      mailboxes: r.mailboxes,
    }));
  }

  recordBackup(runId: string, b: BackupRecord): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO backup_runs VALUES (@run_id, @server, @organization_id, @repositories, @read_at,
           @protected_mailboxes, @protected_archives, @protected_exchange_bytes, @all_mailboxes_bytes,
           @used_space_bytes, @local_cache_bytes, @object_storage_bytes, @stored_bytes, @licensed_users)`,
      )
      .run({
        run_id: runId,
        server: b.server,
        organization_id: b.organizationId,
        repositories: b.repositories,
        read_at: b.readAt,
        protected_mailboxes: b.protectedMailboxes,
        protected_archives: b.protectedArchives,
        protected_exchange_bytes: b.protectedExchangeBytes,
        all_mailboxes_bytes: b.allMailboxesBytes,
        used_space_bytes: b.usedSpaceBytes,
        local_cache_bytes: b.localCacheBytes,
        object_storage_bytes: b.objectStorageBytes,
        stored_bytes: b.storedBytes,
        licensed_users: b.licensedUsers,
      });
  }

  /** Backup figures of the tenant's completed runs over the same organization and repositories, oldest first. */
  backupPoints(
    tenant: string,
    organizationId: string,
    repositories: string,
  ): Array<{ at: string; storedBytes: number; protectedExchangeBytes: number }> {
    const rows = this.db
      .prepare(
        `SELECT r.finished_at AS at, b.stored_bytes, b.protected_exchange_bytes FROM backup_runs b
         JOIN runs r ON r.id = b.run_id
         WHERE r.tenant = ? AND r.status = 'complete' AND b.organization_id = ? AND b.repositories = ?
         ORDER BY r.finished_at`,
      )
      .all(tenant, organizationId, repositories) as Array<{
      at: string;
      stored_bytes: number;
      protected_exchange_bytes: number;
    }>;
    return rows.map((r) => ({
      at: r.at,
      storedBytes: r.stored_bytes,
      protectedExchangeBytes: r.protected_exchange_bytes,
    }));
  }

  close(): void {
    for (const runId of this.pending.keys()) this.flush(runId);
    this.db.close();
  }
}

function migrate(db: Database.Database): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new UsageError(
      `The report history database has schema version ${current}, newer than this exo-cba understands (${SCHEMA_VERSION}).`,
      { hint: "Upgrade exo-cba, or point EXO_CBA_HOME at another state home." },
    );
  }
  for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v}`);
    })();
  }
}
