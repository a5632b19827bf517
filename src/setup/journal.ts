import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { homePaths } from "../config/home.js";
import { ensurePrivateDir, writeFileAtomic } from "../util/fs.js";
import { withFileLock } from "../util/lock.js";

/**
 * A small record of what a setup run did, step by step, with the object ids it created. The tenant itself
 * is the source of truth (every step re-reads it, so a re-run converges even without a journal); the
 * journal lets a failed or interrupted run say exactly what exists, and lets teardown find objects
 * when no profile was saved.
 */
export interface JournalStep {
  status: "done" | "failed";
  action: "exists" | "created" | "updated";
  at: string;
  objectId?: string;
  error?: string;
}

export interface Journal {
  version: 1;
  uniqueName: string;
  organization: string;
  tenantId?: string;
  status: "running" | "failed" | "completed" | "torn-down";
  startedAt: string;
  updatedAt: string;
  ids: Record<string, string>;
  steps: Record<string, JournalStep>;
  error?: string;
}

export const journalPath = (home: string, uniqueName: string) =>
  join(homePaths(home).journals, `setup-${uniqueName.replace(/[^A-Za-z0-9._-]/g, "_")}.json`);

export async function readJournal(home: string, uniqueName: string): Promise<Journal | undefined> {
  try {
    return JSON.parse(await readFile(journalPath(home, uniqueName), "utf8")) as Journal;
  } catch {
    // Missing or damaged: neither may block a re-run, since the tenant is re-read anyway.
    return undefined;
  }
}

/** Journal writer: every change is written atomically at once, so a killed process leaves a true record. */
export class JournalWriter {
  private constructor(
    private readonly home: string,
    readonly journal: Journal,
  ) {}

  static async start(
    home: string,
    uniqueName: string,
    organization: string,
    tenantId?: string,
  ): Promise<JournalWriter> {
    const now = new Date().toISOString();
    const previous = await readJournal(home, uniqueName);
    const journal: Journal = {
      version: 1,
      uniqueName,
      organization,
      ...(tenantId ? { tenantId } : {}),
      status: "running",
      startedAt: now,
      updatedAt: now,
      // Keep ids learnt by an earlier run; steps are re-evaluated from the tenant.
      ids: previous?.ids ?? {},
      steps: {},
    };
    const writer = new JournalWriter(home, journal);
    await writer.flush();
    return writer;
  }

  async step(name: string, step: Omit<JournalStep, "at">, ids: Record<string, string> = {}): Promise<void> {
    this.journal.steps[name] = { ...step, at: new Date().toISOString() };
    Object.assign(this.journal.ids, ids);
    await this.flush();
  }

  async finish(status: Journal["status"], error?: string): Promise<void> {
    this.journal.status = status;
    if (error) this.journal.error = error;
    else delete this.journal.error;
    await this.flush();
  }

  get path(): string {
    return journalPath(this.home, this.journal.uniqueName);
  }

  /**
   * Read-modify-write under the journal's lock: a parallel run of the same app (same unique name) may
   * have learnt ids this one has not; they are kept, this run's own values win (docs/operations.md).
   */
  private async flush(): Promise<void> {
    this.journal.updatedAt = new Date().toISOString();
    await ensurePrivateDir(this.home);
    await ensurePrivateDir(homePaths(this.home).journals);
    await withFileLock(
      this.path,
      async () => {
        const onDisk = await readJournal(this.home, this.journal.uniqueName);
        if (onDisk?.ids && typeof onDisk.ids === "object") {
          this.journal.ids = { ...onDisk.ids, ...this.journal.ids };
        }
        await writeFileAtomic(this.path, `${JSON.stringify(this.journal, null, 2)}\n`, { mode: 0o600 });
      },
      { what: `The setup journal ${this.path}` },
    );
  }
}
