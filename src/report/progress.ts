/**
 * Progress on stderr: a redrawn bar with counts and ETA on a terminal, plain lines at an interval
 * otherwise (logs and CI keep a readable record instead of carriage-return noise).
 */
import type { Writable } from "node:stream";
import { formatInteger } from "./bytes.js";
import type { CollectProgress } from "./collect.js";

export interface ProgressOptions {
  /** redraw a bar in place (stderr is a terminal) */
  tty: boolean;
  now?: () => number;
  /** minimum time between two outputs (default 100 ms on a terminal, 10 s otherwise) */
  intervalMs?: number;
  width?: number;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export class ProgressReporter {
  private readonly tenants = new Map<string, CollectProgress>();
  private readonly now: () => number;
  private readonly interval: number;
  private lastOutput = Number.NEGATIVE_INFINITY;
  private lastRetryNote = Number.NEGATIVE_INFINITY;
  private statsStartedAt: number | undefined;
  private doneAtStart = 0;
  private drawn = false;

  constructor(
    private readonly out: Writable,
    private readonly options: ProgressOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.interval = options.intervalMs ?? (options.tty ? 100 : 10_000);
  }

  update(tenant: string, progress: CollectProgress): void {
    const previous = this.tenants.get(tenant);
    this.tenants.set(tenant, progress);
    const phaseChanged = previous?.phase !== progress.phase;
    const t = this.now();
    if (this.statsStartedAt === undefined && progress.phase === "statistics") {
      this.statsStartedAt = t;
      // Mailboxes reused from a resumed run are not work done now: keep them out of the rate.
      this.doneAtStart = this.sum().done;
    }
    if (!phaseChanged && t - this.lastOutput < this.interval) return;
    this.lastOutput = t;
    this.write(this.line(t));
  }

  /**
   * Say that requests are being retried because the endpoint cannot be reached — at once the first
   * time, then at most once per 10 s — so a run that waits on a dead endpoint is never silent.
   */
  retrying(tenant: string, reason: string): void {
    const t = this.now();
    if (t - this.lastRetryNote < 10_000) return;
    this.lastRetryNote = t;
    if (this.options.tty && this.drawn) this.out.write("\n");
    this.drawn = false;
    this.out.write(`retrying: endpoint unreachable (${tenant}: ${reason})\n`);
  }

  /** End the bar's line so later output starts on a fresh line. */
  finish(): void {
    if (this.options.tty && this.drawn) this.out.write("\n");
    else if (!this.options.tty && this.tenants.size > 0) this.out.write(`${this.line(this.now())}\n`);
    this.drawn = false;
  }

  private sum() {
    let listed = 0;
    let done = 0;
    let failed = 0;
    let total = 0;
    let known = true;
    let window = 0;
    for (const p of this.tenants.values()) {
      listed += p.listed;
      done += p.done;
      failed += p.failed;
      window += p.window;
      if (p.total === null) known = false;
      else total += p.total;
    }
    return { listed, done, failed, total: known ? total : null, window };
  }

  private line(t: number): string {
    const s = this.sum();
    const tenants = this.tenants.size > 1 ? ` · ${this.tenants.size} tenants` : "";
    if (s.total === null) return `listing mailboxes: ${formatInteger(s.listed)} found${tenants}`;
    const finished = s.done + s.failed;
    const fraction = s.total === 0 ? 1 : finished / s.total;
    let eta = "";
    if (this.statsStartedAt !== undefined && finished < s.total) {
      const elapsed = t - this.statsStartedAt;
      const rate = (s.done - this.doneAtStart + s.failed) / Math.max(elapsed, 1);
      eta = rate > 0 ? ` · ETA ${formatDuration((s.total - finished) / rate)}` : " · ETA --";
    }
    const failed = s.failed > 0 ? ` · ${formatInteger(s.failed)} failed` : "";
    const counts = `${formatInteger(finished)}/${formatInteger(s.total)} mailboxes (${Math.floor(fraction * 100)}%)${failed}${eta} · concurrency ${Math.floor(s.window)}${tenants}`;
    if (!this.options.tty) return counts;
    const width = this.options.width ?? 24;
    const filled = Math.round(fraction * width);
    return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${counts}`;
  }

  private write(text: string): void {
    if (this.options.tty) {
      // \r + clear line: redraw in place.
      this.out.write(`\r\x1b[2K${text}`);
      this.drawn = true;
    } else {
      this.out.write(`${text}\n`);
    }
  }
}
